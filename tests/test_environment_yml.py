"""environment.yml (conda route) and pyproject.toml (pip route) must pin the same packages."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"redis": "redis-py", "pymysql": "pymysql", "moto[server]": "moto"}


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    pins = {}
    for dep in deps:
        name, version = re.fullmatch(r"([A-Za-z0-9_.\[\]-]+)==(\d+\.\d+)\.\*", dep).groups()
        pins[CONDA_NAMES.get(name.lower(), name.lower())] = version
    return pins, project["requires-python"]


def conda_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s+- ([a-z0-9-]+)(?:=|==)([\d.]+)(?:\.\*)?\s", line + " ")
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def test_every_python_dependency_has_the_same_major_minor_pin():
    pins, _ = pyproject_pins()
    conda = conda_pins()
    assert {name: conda.get(name) for name in pins} == pins


def test_python_version_agrees():
    _, requires = pyproject_pins()
    assert f"python={requires.removeprefix('>=')}" in (ROOT / "environment.yml").read_text()


def test_each_dependency_line_says_who_needs_it():
    deps = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in deps.splitlines():
        if re.match(r"\s+- [a-z]", line) and line.strip() not in ("- pip", "- pip:"):
            assert "#" in line, f"no comment on: {line.strip()}"


def test_conda_route_has_the_servers():
    text = (ROOT / "environment.yml").read_text()
    assert "- valkey-server" in text and "- mysql-server" in text

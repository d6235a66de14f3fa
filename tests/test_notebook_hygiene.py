"""What strict nbval cannot see: unexecuted cells, stored errors, leaked secrets and paths."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT")
SECRET = re.compile(r"(AKIA|ASIA)[0-9A-Z]{16}|aws_secret_access_key\s*[=:]\s*\S{20,}"
                    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
                    r"|DB_PASS=(?!\.\.\.|\$|<|your)\S{6,}|password=['\"](?!\*)[^'\"]{6,}")
MACHINE_PATH = re.compile(r"/root/|/home/[a-z_][a-z0-9_-]*/|/Users/[A-Za-z0-9_.-]+/|/tmp/tmp|"
                          + re.escape(str(ROOT)))


def source(cell):
    return "".join(cell["source"])


def output_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        parts.append("".join(out.get("text", "")))
        parts += ["".join(v) for k, v in out.get("data", {}).items() if k.startswith("text/")]
        parts.append(out.get("evalue", ""))
    return "\n".join(parts)


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" and source(c).strip()]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_ran_once_top_to_bottom(path):
    counts = [c["execution_count"] for c in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), f"run `make refresh`: counts are {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_errors_unless_marked(path):
    for cell in code_cells(path):
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors or "NBVAL_RAISES_EXCEPTION" in source(cell), source(cell)[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_nbval_marker_gives_its_reason(path):
    for cell in code_cells(path):
        for line in source(cell).splitlines():
            marker = next((m for m in MARKERS if m in line), None)
            if marker:
                reason = line.split(marker, 1)[1].strip(" :-—")
                assert len(reason) > 8, f"{path.name}: `{line.strip()}` needs a one-line reason"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_credentials_or_machine_paths(path, lab_settings):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        text = source(cell) + "\n" + output_text(cell)
        assert not SECRET.search(text), f"{path.name}: credential-like text: {SECRET.search(text).group()}"
        assert lab_settings.db_pass not in text
        assert not MACHINE_PATH.search(output_text(cell)), f"{path.name}: machine path in an output"


def test_one_kernel_name():
    kernels = {json.loads(p.read_text())["metadata"]["kernelspec"]["name"] for p in NOTEBOOKS}
    assert kernels == {"python3"}


def test_every_notebook_opens_with_a_title_and_its_name_is_numbered():
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name), path.name
        first = json.loads(path.read_text())["cells"][0]
        assert first["cell_type"] == "markdown" and source(first).startswith("# "), path.name

"""A private lab for tests that break things: its own Valkey, TLS Valkey, MariaDB and emulator
in a temporary folder, stopped and restarted by pid without touching the project's lab.

Also runs notebooks in it with nbclient, the way `make refresh` does, with an optional cell
inserted after the setup cell (to inject a fault) and the kernel's environment pointed at it.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.config import ENDPOINT_VARS, Settings, read_env_file
from helpers.lab import CacheService, DatabaseService, Lab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAME_SQL = "SELECT name FROM planet WHERE id = %s"  # the tutorial's lookup, as a parameterised query
# Variables that would steer a kernel to another lab, mode or account.
FOREIGN = ENDPOINT_VARS + ("LAB_MODE", "LAB_DIR", "LAB_CONFIRM", "REDIS_TLS_URL", "REDIS_TLS_CA")


class PrivateLab:
    def __init__(self, root: Path):
        self.lab = Lab(root)
        self.root = Path(root)

    def up(self) -> "PrivateLab":
        self.lab.up(echo=lambda line: None)
        return self

    def down(self) -> None:
        self.lab.down(echo=lambda line: None)

    @property
    def env(self) -> dict[str, str]:
        return read_env_file(self.lab.paths.env_file)

    def settings(self, **changes) -> Settings:
        env = self.env
        values = dict(mode="local", region=env["AWS_DEFAULT_REGION"], redis_url=env["REDIS_URL"],
                      db_host=env["DB_HOST"], db_port=int(env["DB_PORT"]), db_user=env["DB_USER"],
                      db_pass=env["DB_PASS"], db_name=env["DB_NAME"], aws_endpoint_url=env["AWS_ENDPOINT_URL"])
        values.update(changes)
        return Settings(**values)

    # -- faults: stop a server by the pid the lab recorded, start it again on its port
    def stop_cache(self) -> None:
        assert CacheService(self.lab.paths).stop(), "the private cache was not running"

    def stop_db(self) -> None:
        assert DatabaseService(self.lab.paths).stop(), "the private database was not running"

    def restart(self) -> None:
        """Start whatever is stopped, on the same ports (Lab.up keeps a port that is free)."""
        ports = self.lab.ports()
        self.up()
        assert self.lab.ports() == ports

    # -- notebooks
    def kernel_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN and not k.startswith("AWS_")}
        env.update(LAB_DIR=str(self.root), **extra)
        return env

    def run_notebook(self, name: str, *, insert: str | None = None, expect_error: bool = False,
                     timeout: int = 300, **env: str) -> nbformat.NotebookNode:
        """Execute notebooks/<name>*.ipynb top to bottom in this lab; returns the executed notebook.

        insert: code run right after the setup cell (e.g. a botocore hook that injects a failure).
        expect_error: the run must stop at a cell error; the notebook is returned as far as it ran.
        """
        [path] = NOTEBOOKS.glob(f"{name}*.ipynb")
        nb = nbformat.read(path, as_version=4)
        if insert:
            setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "setup()" in c.source)
            nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(insert))
        client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        started = time.monotonic()
        try:
            client.execute(env=self.kernel_env(**env))
        except CellExecutionError:
            if not expect_error:
                raise
            nb.metadata["failed"] = True
        else:
            assert not expect_error, f"{path.name} ran to the end, but a cell should have failed"
        nb.metadata["seconds"] = time.monotonic() - started
        return nb


def module_lab(name: str):
    """A module-scoped fixture: a PrivateLab of the module's own, up for its tests, then down and
    deleted (its database alone is over 100 MB, and pytest keeps three runs of temporary folders)."""
    @pytest.fixture(scope="module")
    def lab(tmp_path_factory):
        lab = PrivateLab(tmp_path_factory.mktemp(name)).up()
        yield lab
        lab.down()
        shutil.rmtree(lab.root, ignore_errors=True)

    return lab


def outputs(nb) -> str:
    """Every text output of an executed notebook, errors included (as 'ename: evalue')."""
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                text.append(f"{out['ename']}: {out['evalue']}\n")
            text.append(out.get("text", ""))
            text += [v for k, v in out.get("data", {}).items() if k == "text/plain"]
    return "".join(text)


def errors(nb) -> list[str]:
    return [f"{out['ename']}: {out['evalue']}" for cell in nb.cells for out in cell.get("outputs", [])
            if out["output_type"] == "error"]

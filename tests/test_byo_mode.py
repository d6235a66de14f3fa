"""byo mode: the tutorial's variables (REDIS_URL, DB_HOST, DB_USER, DB_PASS, DB_NAME), unchanged,
point the notebooks at servers someone else runs; here the lab's, with LAB_MODE unset."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.config import ENDPOINT_VARS, lab_dir, read_env_file
ROOT = Path(__file__).resolve().parent.parent
# Each notebook, and a line of its output that shows it reached the database.
NOTEBOOKS = {
    "04-rds-mysql-planet-data.ipynb": "{'id': 17, 'name': 'Neptune'}",
    "05-pattern-query-cache.ipynb": "{'id': 17, 'name': 'Neptune'}",
    "06-pattern-record-hash.ipynb": "read again:          {'id': 12, 'name': 'Earth'}",
}


def outputs(nb):
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{out['ename']}: {out['evalue']}"
            text.append(out.get("text", ""))
    return "".join(text)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_byo_mode_with_the_tutorials_variables(name, lab_settings, monkeypatch):
    lab_env = read_env_file(lab_dir() / "lab.env")
    for var in list(os.environ):
        if var.startswith(("AWS_", "LAB_MODE")) or var in ENDPOINT_VARS:
            monkeypatch.delenv(var)
    for var in ENDPOINT_VARS:  # REDIS_URL, DB_HOST, DB_PORT, DB_USER, DB_PASS, DB_NAME
        monkeypatch.setenv(var, lab_env[var])
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    text = outputs(nb)
    assert text.startswith("Mode: byo.")
    assert NOTEBOOKS[name] in text
    if name.startswith("04"):
        assert "byo mode: skipped" in text and "lab-mysql: created" not in text

import traceback

import pytest
from IPython.core.interactiveshell import InteractiveShell

from helpers.provision import SKIPPED, load_ipython_extension, run_cell


def test_runs_the_cell_in_the_notebooks_namespace(monkeypatch):
    monkeypatch.setenv("LAB_MODE", "local")
    namespace = {"settings": "s"}
    run_cell("x = settings * 2\ndef f():\n    return x\n", namespace, echo=pytest.fail)
    assert namespace["x"] == "ss" and namespace["f"]() == "ss"


def test_skips_in_byo_mode_and_says_why(monkeypatch):
    monkeypatch.setenv("LAB_MODE", "byo")
    namespace, said = {}, []
    run_cell("raise RuntimeError('must not run')", namespace, echo=said.append)
    assert said == [SKIPPED] and "byo mode" in SKIPPED and namespace == {}


def test_an_error_shows_the_cells_own_line(monkeypatch):
    monkeypatch.setenv("LAB_MODE", "local")
    with pytest.raises(ZeroDivisionError) as caught:
        run_cell("a = 1\nb = a / 0\n", {})
    assert "b = a / 0" in "".join(traceback.format_tb(caught.value.__traceback__))


def test_the_cell_magic_in_a_real_ipython_shell(monkeypatch, capsys):
    monkeypatch.setenv("LAB_MODE", "local")
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    shell.run_cell("%%provision\nmade = [n for n in range(3)]\n%time done = True")
    assert shell.user_ns["made"] == [0, 1, 2] and shell.user_ns["done"] is True
    monkeypatch.setenv("LAB_MODE", "byo")
    shell.run_cell("%%provision\nskipped = True")
    assert "skipped" not in shell.user_ns and SKIPPED in capsys.readouterr().out

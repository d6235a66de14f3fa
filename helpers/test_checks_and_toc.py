import json

from helpers.checks import run_checks
from helpers.config import Settings
from helpers.toc import notebook_titles, prev_next_markdown, toc_markdown


def test_every_check_is_ok_against_the_lab(lab_settings):
    assert [c.status for c in run_checks(lab_settings)] == ["OK"] * 4


def test_a_dead_cache_is_a_fail_line_with_the_fix(lab_settings):
    settings = Settings(**{**vars(lab_settings), "redis_url": "redis://127.0.0.1:1/0"})
    cache = run_checks(settings)[1]
    assert cache.status == "FAIL" and "make up" in cache.detail


def _nb(path, title):
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": [f"# {title}\n", "text"]}]}))


def test_toc_and_links_come_from_the_files(tmp_path):
    _nb(tmp_path / "01-b.ipynb", "Bee")
    _nb(tmp_path / "00-a.ipynb", "Ay")
    (tmp_path / "scratch.ipynb").write_text("{}")
    assert notebook_titles(tmp_path) == [("00-a.ipynb", "Ay"), ("01-b.ipynb", "Bee")]
    assert toc_markdown(tmp_path) == "- 00 [Ay](00-a.ipynb)\n- 01 [Bee](01-b.ipynb)"
    assert prev_next_markdown("01-b.ipynb", tmp_path) == "← [Ay](00-a.ipynb)"

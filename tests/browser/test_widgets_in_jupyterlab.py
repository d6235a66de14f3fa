"""JupyterLab in Debian's Chromium runs the widget notebooks through its own UI (issue 7).

A fresh private lab and a temporary copy of the notebooks; notebooks 01 and 02 run headless
first (they create the AWS resources 03's pre-checks look for); then 00 and 03 run through
Run -> Run All Cells. Screenshots go to <lab dir>/screenshots/. Everything started is
stopped by pid. Deselect with `-m "not browser"`.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from helpers.config import lab_dir
from helpers.lab import Lab
from lab_browser import (ACTIVE, CHROMIUM_FLAGS, COUNTDOWN, INSPECTOR, PICKER, REPORT,
                         BrowserUnavailable, CountdownWatch, JupyterLab, ensure_chromium,
                         execute_headless, jupyter_env, open_notebook, run_all_cells, sweep)

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
START_HERE = "00-start-here.ipynb"
PHASE3 = "03-phase3-cache-commands.ipynb"
PREREQUISITES = ("01-*.ipynb", "02-*.ipynb")
# (regex, reason) for console errors understood to be harmless; anything else fails the test.
# Empty: JupyterLab 4.6 with the overrides in lab_browser.OVERRIDES logged no error here.
BENIGN: list[tuple[str, str]] = []


class Browser:
    """What the tests share: the page, the JupyterLab it shows, and the errors it reported."""

    def __init__(self, page, lab: JupyterLab, notebooks: Path, env: dict, shots: Path):
        self.page, self.lab, self.notebooks, self.env, self.shots = page, lab, notebooks, env, shots
        self.js_errors: list[str] = []
        self.js_warnings = self.js_messages = 0
        page.on("pageerror", lambda exc: self.js_errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, msg) -> None:
        self.js_messages += 1
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.js_errors.append(f"console.error: {msg.text} ({where})")
        elif msg.type == "warning":
            self.js_warnings += 1

    def errors_since(self, start: int) -> list[str]:
        return [e for e in self.js_errors[start:] if not any(re.search(rx, e) for rx, _ in BENIGN)]

    def screenshot(self, name: str, locator=None) -> Path:
        path = self.shots / f"{name}.png"
        if locator is not None:
            locator.scroll_into_view_if_needed()
            self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(path))
        if path not in REPORT.screenshots:
            REPORT.screenshots.append(path)
        return path


def timed(label: str, since: float) -> None:
    REPORT.timings[label] = time.monotonic() - since


@pytest.fixture(scope="module")
def browser():
    t_all = time.monotonic()
    try:
        chromium = ensure_chromium(echo=REPORT.notes.append)
    except BrowserUnavailable as exc:
        REPORT.skipped = str(exc)
        pytest.skip(f"BROWSER TEST SKIPPED: {exc}")
    timed("chromium", t_all)
    from playwright.sync_api import sync_playwright

    shots = lab_dir() / "screenshots"  # the repo's own .lab/ unless LAB_DIR says otherwise
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):  # this run's pictures only, no stale failure shots
        old.unlink()
    # A short path: MariaDB's socket lives under it (sun_path is ~100 bytes).
    workdir = Path(tempfile.mkdtemp(prefix="lab-browser-"))
    lab = Lab(workdir / "lab")
    server = None
    try:
        notebooks = workdir / "notebooks"
        shutil.copytree(NOTEBOOKS, notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        t = time.monotonic()
        lab.up(echo=lambda line: None)
        timed("fresh lab up", t)
        env = jupyter_env(workdir, lab.paths.root)
        t = time.monotonic()
        server = JupyterLab(notebooks, workdir, env)
        server.start()
        timed("JupyterLab start", t)
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(workdir / "chromium-profile"), executable_path=chromium, headless=True,
                args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
            browser = Browser(context.pages[0] if context.pages else context.new_page(),
                              server, notebooks, env, shots)
            try:
                yield browser
            finally:
                context.close()
                benign = len(browser.js_errors) - len(browser.errors_since(0))
                REPORT.notes.append(f"JavaScript: {len(browser.errors_since(0))} errors, {benign} benign "
                                    f"errors ignored, {browser.js_warnings} warnings, "
                                    f"{browser.js_messages} console messages in all")
    finally:
        if server:
            server.stop()
        lab.down(echo=lambda line: None)
        leftovers = sweep(str(workdir))
        if leftovers:
            REPORT.notes.append(f"killed leftover processes {leftovers}")
        shutil.rmtree(workdir, ignore_errors=True)
        timed("total", t_all)


def run_in_ui(browser: Browser, name: str, observe=None):
    t = time.monotonic()
    open_notebook(browser.page, browser.lab, name)
    result = run_all_cells(browser.page, name, observe=observe)
    timed(f"{name[:2]} in the UI", t)
    note_stray_math(browser, name)
    return result


def note_stray_math(browser: Browser, name: str) -> None:
    """The notebooks use no LaTeX, so typeset math in Markdown means two `$` (prices) paired up
    and swallowed the text between them: said in the summary (escape them as \\$), not failed."""
    math = browser.page.locator(f"{ACTIVE} .jp-MarkdownOutput mjx-container")
    if math.count():
        shot = browser.screenshot(f"{name[:2]}-stray-math", math.first)
        REPORT.notes.append(f"{name}: {math.count()} piece(s) of Markdown render as LaTeX math "
                            f"(unescaped `$` pairs; write \\$), see {shot.name}")


def test_start_here_runs_in_jupyterlab(browser):
    start = len(browser.js_errors)
    result = run_in_ui(browser, START_HERE)
    page = browser.page
    checks = page.locator(f"{ACTIVE} .jp-OutputArea-output", has_text="OK   cache")
    browser.screenshot("00-start-here-run-all", checks.first if checks.count() else None)
    assert not result.unexpected_errors(), result.unexpected_errors()
    assert not result.not_run(), f"cells that did not run: {result.not_run()}"
    text = "\n".join(page.locator(f"{ACTIVE} .jp-OutputArea-output").all_inner_texts())
    for part in ("cache", "database", "aws"):
        assert re.search(rf"^OK +{part}\b", text, re.M), f"the environment check has no OK {part} line:\n{text}"
    assert "FAIL" not in text, text
    assert not browser.errors_since(start), browser.errors_since(start)


def test_phase3_widgets_work_in_jupyterlab(browser):
    assert (browser.notebooks / PHASE3).exists(), f"notebooks/{PHASE3} is missing"
    for pattern in PREREQUISITES:
        for nb in sorted(browser.notebooks.glob(pattern)):
            REPORT.timings[f"{nb.name[:2]} headless"] = execute_headless(nb, browser.env)
    start = len(browser.js_errors)
    page = browser.page
    countdown = CountdownWatch()
    result = run_in_ui(browser, PHASE3, observe=countdown)
    assert not result.unexpected_errors(), result.unexpected_errors()
    assert not result.not_run(), f"cells that did not run: {result.not_run()}"
    # 03's pre-checks pass only if 01 and 02 prepared this fresh lab.
    prechecks = page.locator(f"{ACTIVE} .jp-OutputArea-output", has_text=re.compile(r"\bregion\b"))
    assert prechecks.count(), "03's pre-checks printed no `region` line"
    browser.screenshot("03-pre-checks", prechecks.first)
    shown = prechecks.first.inner_text()
    assert re.search(r"^OK\s+region", shown, re.M) and not re.search(r"^FAIL", shown, re.M), shown

    timers = page.locator(f"{ACTIVE} {COUNTDOWN}")
    assert timers.count() and timers.first.is_visible(), "the TTL countdown widget is not shown"
    # Photograph one that still counts, if any (the first may have expired during the run).
    counting = timers.filter(has_text=re.compile(r"\d+ s left"))
    timer = counting.first if counting.count() else timers.first
    first_text = timer.inner_text()
    browser.screenshot("03-ttl-countdown", timer)
    countdown.watch(page, seconds=15)  # in case the run ended before the value went down
    page.wait_for_timeout(2500)
    browser.screenshot("03-ttl-countdown-later", timer)
    REPORT.notes.append(f"photographed countdown: {first_text!r} -> {timer.inner_text()!r}")
    assert countdown.decreased(), f"the countdown did not go down: {countdown.samples}"

    picker = page.locator(f"{ACTIVE} {PICKER}").first
    assert picker.is_visible(), "the EXPIREAT picker is not shown"
    assert picker.locator("input, button, select").count(), "the EXPIREAT picker has no controls"
    browser.screenshot("03-expireat-picker", picker)

    inspector = page.locator(f"{ACTIVE} {INSPECTOR}").first
    assert inspector.is_visible(), "the key inspector is not shown"
    browser.screenshot("03-key-inspector", inspector)
    shown = inspector.inner_text()
    for field in ("type", "ttl", "value"):
        assert re.search(rf"^{field}: *\S", shown, re.M), f"the key inspector shows no {field}:\n{shown}"
    seen = countdown.samples
    shown_samples = seen if len(seen) <= 6 else [*seen[:3], f"... ({len(seen)} samples) ...", *seen[-3:]]
    REPORT.notes.append(f"countdown samples during the run: {' -> '.join(shown_samples)}")
    assert not browser.errors_since(start), browser.errors_since(start)

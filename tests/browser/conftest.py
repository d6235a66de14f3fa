"""Prints what the browser test did (or why it skipped) at the end of every pytest run that ran it,
and keeps a screenshot of the page when one of its tests fails."""
import contextlib
import sys

import pytest

from lab_browser import REPORT


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    browser = getattr(item, "funcargs", {}).get("browser")
    if report.when == "call" and report.failed and browser is not None:
        with contextlib.suppress(Exception):  # a dead page must not hide the real failure
            browser.screenshot(f"failure-{item.name}")


def pytest_terminal_summary(terminalreporter):
    lines = REPORT.lines()
    if not lines:
        return
    terminalreporter.section("browser test", sep="=", bold=True, yellow=bool(REPORT.skipped))
    for line in lines:
        terminalreporter.write_line(line, bold=line.startswith("BROWSER TEST SKIPPED"))
    if REPORT.skipped:  # also on stderr, for logs that keep only stderr
        print(f"BROWSER TEST SKIPPED: {REPORT.skipped}", file=sys.stderr)

"""Waiting with a visible clock: boto3 waiters driven one attempt at a time.

A boto3 waiter blocks silently for minutes. wait_with_progress() calls the same waiter with
MaxAttempts=1 in a loop, so between attempts it can move a progress bar (ipywidgets in a
notebook, one line per attempt elsewhere) and stop at a deadline with a message that says
what to check.
"""
from __future__ import annotations

import time

from botocore.exceptions import WaiterError


def in_notebook() -> bool:
    try:
        from IPython import get_ipython

        return get_ipython().__class__.__name__ == "ZMQInteractiveShell"
    except ImportError:
        return False


class Progress:
    """A bar plus a status line. In a notebook the widget is displayed once and its traits
    change in place (no clear_output, so nbval sees one stable repr); elsewhere it prints."""

    def __init__(self, what: str, timeout: float):
        self.what, self.timeout = what, timeout
        self.widget = None
        if in_notebook():
            import ipywidgets as widgets
            from IPython.display import display

            self.bar = widgets.IntProgress(value=0, min=0, max=int(timeout), description="waiting")
            self.label = widgets.Label(value=f"{what}: starting")
            self.widget = widgets.HBox([self.bar, self.label])
            display(self.widget)

    def update(self, elapsed: float, status: str) -> None:
        if self.widget is not None:
            self.bar.value = min(int(elapsed), self.bar.max)
            self.label.value = f"{self.what}: {status} ({elapsed:.0f} s of at most {self.timeout:.0f} s)"
        else:
            print(f"  {self.what}: {status} ({elapsed:.0f} s)", flush=True)

    def done(self, elapsed: float, status: str) -> None:
        if self.widget is not None:
            self.bar.value, self.bar.bar_style = self.bar.max, "success"
            self.label.value = f"{self.what}: {status}"


def wait_with_progress(waiter, *, what: str, timeout: float, hint: str, delay: float = 15,
                       status=None, clock=time.monotonic, sleep=time.sleep, **waiter_args) -> float:
    """Run a boto3 waiter until it succeeds or `timeout` seconds pass; returns the seconds waited.

    status() may return a short text (e.g. the resource's current status) for the display.
    On timeout raises TimeoutError naming `hint`; a waiter failure state is re-raised as is.
    """
    progress = Progress(what, timeout)
    start = clock()
    while True:
        try:
            waiter.wait(WaiterConfig={"Delay": 1, "MaxAttempts": 1}, **waiter_args)
            elapsed = clock() - start
            progress.done(elapsed, "ready")
            return elapsed
        except WaiterError as e:
            if "Max attempts exceeded" not in str(e):
                raise  # a failure state (e.g. the resource failed): waiting longer will not help
        elapsed = clock() - start
        if elapsed >= timeout:
            raise TimeoutError(f"{what} was not ready after {timeout:.0f} s: {hint}")
        progress.update(elapsed, status() if status else "not ready yet")
        sleep(min(delay, max(0.0, timeout - elapsed)))

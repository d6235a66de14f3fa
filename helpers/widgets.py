"""Live widgets for phase 3: a TTL countdown, an EXPIREAT picker and a key inspector.

Each one asks the server (a real TTL, EXPIREAT, TYPE... per action or tick); nothing is
computed locally. They follow the notebook traps measured in DESIGN.md:
- strict nbval compares a widget's text/plain repr, so every widget starts with fixed text;
- a widget is displayed first, then a daemon thread (Ticker) changes its traits, stopping on
  an Event, at a deadline and after a bounded number of ticks;
- the thread never prints (in ipykernel 7 a thread's print lands in whichever cell is
  running): failures become the widget's own text.

The CSS classes lab-ttl-countdown, lab-expireat-picker and lab-key-inspector are how the
browser test finds the widgets: keep them.
"""
from __future__ import annotations

import html
import threading
import time
from datetime import datetime

import ipywidgets as widgets

from helpers.errors import explain
from helpers.magics import quote

MAX_VALUE_CHARS = 300  # the inspector shows the start of a long value


class Ticker:
    """Calls tick() every `interval` s on a daemon thread until it returns True, stop() is
    called, or `timeout` s pass. tick() exceptions go to on_error(exc), never to print."""

    def __init__(self, tick, *, interval: float = 1.0, timeout: float = 600.0,
                 on_error=None, on_deadline=None, clock=time.monotonic):
        self.tick, self.interval, self.timeout = tick, interval, timeout
        self.on_error, self.on_deadline, self.clock = on_error, on_deadline, clock
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.ticks = 0

    def start(self) -> None:
        """Start once; calling it again (e.g. the widget displayed twice) changes nothing."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True, name="lab-widget-ticker")
            self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _call(self, callback, *args) -> None:
        if callback is not None:
            try:
                callback(*args)
            except Exception:  # noqa: BLE001 - a thread must not die printing a traceback
                pass

    def _run(self) -> None:
        deadline = self.clock() + self.timeout
        for _ in range(int(self.timeout / self.interval) + 2):  # bounded even if the clock stalls
            if self.stopped.is_set():
                return
            if self.clock() >= deadline:
                break
            self.ticks += 1
            try:
                if self.tick():
                    return
            except Exception as e:  # noqa: BLE001 - shown in the widget instead
                self._call(self.on_error, e)
                return
            if self.stopped.wait(self.interval):
                return
        self._call(self.on_deadline)


def default_client(client):
    if client is not None:
        return client
    from helpers.connections import cache_client

    return cache_client()


def ttl_status(key: str, ttl: int) -> tuple[str, bool]:
    """The countdown's text for a TTL reply, and whether counting is over.
    TTL answers -2 when the key does not exist and -1 when it has no expiry."""
    if ttl == -2:
        return f"{key}: expired", True
    if ttl == -1:
        return f"{key}: no expiry (TTL -1), nothing to count down", True
    return f"{key}: {ttl} s left", False


class TtlCountdown:
    """`TtlCountdown("notice")` as a cell's last line shows a bar and `notice: 42 s left`,
    reading the server's TTL once a second until the key is gone (`notice: expired`)."""

    def __init__(self, key: str, client=None, *, interval: float = 1.0, timeout: float = 600.0):
        self.key, self.client = key, default_client(client)
        self.label = widgets.Label(value=f"{key}: reading TTL")
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="TTL")
        self.widget = widgets.HBox([self.bar, self.label])
        self.widget.add_class("lab-ttl-countdown")
        self.ticker = Ticker(self.tick, interval=interval, timeout=timeout,
                             on_error=self._failed, on_deadline=self._gave_up)

    def tick(self) -> bool:
        ttl = self.client.ttl(self.key)  # one real TTL call per tick
        text, done = ttl_status(self.key, ttl)
        if ttl > 0:
            self.bar.max = max(self.bar.max, ttl)
            self.bar.value = ttl
        else:
            self.bar.value = 0
            self.bar.bar_style = "success" if ttl == -2 else ""
        self.label.value = text
        return done

    def _failed(self, exc: BaseException) -> None:
        self.label.value = f"{self.key}: countdown stopped: {explain(exc)}"

    def _gave_up(self) -> None:
        self.label.value += " (countdown stopped at its time limit; run the cell again to resume)"

    def start(self) -> "TtlCountdown":
        self.ticker.start()
        return self

    def stop(self) -> None:
        self.ticker.stop()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)  # first the fixed initial view, then the thread changes it
        self.start()


class ExpireAtPicker:
    """A key, a date/time picker and an EXPIREAT button. Pressing it runs
    `EXPIREAT key <unix time>` on the server and starts a TtlCountdown below."""

    def __init__(self, key: str = "", client=None, *, countdown_timeout: float = 600.0):
        self.client, self.countdown_timeout = default_client(client), countdown_timeout
        self.key_box = widgets.Text(value=key, description="key")
        self.when = widgets.DatetimePicker(description="expire at")
        self.button = widgets.Button(description="EXPIREAT", button_style="primary")
        self.status = widgets.Label(value="pick a date and time, then press EXPIREAT")
        self.widget = widgets.VBox([widgets.HBox([self.key_box, self.when, self.button]), self.status])
        self.widget.add_class("lab-expireat-picker")
        self.countdown: TtlCountdown | None = None
        self.button.on_click(self._clicked)

    def _clicked(self, _button) -> None:
        try:
            self.apply(self.when.value)
        except Exception as e:  # noqa: BLE001 - a click handler must not print a traceback
            self.status.value = f"EXPIREAT failed: {explain(e)}"

    def apply(self, when: datetime | None) -> str:
        """Run EXPIREAT for `when` (a naive time means this machine's local time), show the
        reply and start the countdown; returns the status text."""
        key = self.key_box.value.strip()
        if not key or when is None:
            self.status.value = "type a key and pick a date and time first"
            return self.status.value
        unix_time = int((when if when.tzinfo else when.astimezone()).timestamp())
        if not self.client.expireat(key, unix_time):
            self.status.value = f"EXPIREAT {key} {unix_time} -> (integer) 0: {key} does not exist, SET it first"
            return self.status.value
        self.status.value = f"EXPIREAT {key} {unix_time} -> (integer) 1"
        if self.countdown is not None:
            self.countdown.stop()
        self.countdown = TtlCountdown(key, self.client, timeout=self.countdown_timeout)
        self.widget.children = (*self.widget.children[:2], self.countdown.widget)
        self.countdown.start()
        return self.status.value

    def pick(self, when: datetime) -> None:
        """Do what a learner does: set the picker, then press the button."""
        self.when.value = when if when.tzinfo else when.astimezone()
        self.button.click()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _text(value) -> str:
    return value.decode(errors="backslashreplace") if isinstance(value, bytes) else str(value)


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + f"... ({len(text)} chars)"


def read_value(client, key: str, kind: str) -> str:
    """The value of a key of any common type, as one short line."""
    if kind == "string":
        value = client.get(key)
        return "(nil)" if value is None else _short(quote(value))
    if kind == "hash":
        fields = client.hgetall(key)
        return _short(", ".join(f"{_text(k)}={_text(v)}" for k, v in fields.items()))
    if kind == "list":
        return _short(str([_text(v) for v in client.lrange(key, 0, 19)]))
    if kind == "set":
        return _short(str(sorted(_text(v) for v in client.smembers(key))))
    if kind == "zset":
        return _short(str([(_text(m), s) for m, s in client.zrange(key, 0, 19, withscores=True)]))
    if kind == "stream":
        return f"{client.xlen(key)} entries"
    return "(not shown for this type)"


def inspect_key(client, key: str) -> list[str]:
    """`type:`, `ttl:` and `value:` lines for a key, read from the server."""
    if not key:
        return ["type: -", "ttl: -", "value: type a key, then press inspect"]
    with client.pipeline(transaction=True) as pipe:  # TYPE and TTL of the same moment
        kind, ttl = pipe.type(key).ttl(key).execute()
    kind = _text(kind)
    if kind == "none":
        return ["type: none (no such key)", "ttl: -2", "value: (nil)"]
    ttl_text = "-1 (no expiry)" if ttl == -1 else f"{ttl} s" if ttl >= 0 else str(ttl)
    return [f"type: {kind}", f"ttl: {ttl_text}", f"value: {read_value(client, key, kind)}"]


class KeyInspector:
    """A key box and an inspect button over `type:`, `ttl:` and `value:` lines. With live=True
    it re-reads the key once a second (for at most `timeout` s), so a TTL visibly counts down."""

    def __init__(self, key: str = "", client=None, *, live: bool = True, interval: float = 1.0,
                 timeout: float = 600.0):
        self.client = default_client(client)
        self.key_box = widgets.Text(value=key, description="key")
        self.button = widgets.Button(description="inspect")
        self.view = widgets.HTML(value=self.render(key))  # read once now: the initial view
        self.widget = widgets.VBox([widgets.HBox([self.key_box, self.button]), self.view])
        self.widget.add_class("lab-key-inspector")
        self.button.on_click(lambda _button: self.refresh())
        self.ticker = Ticker(self._tick, interval=interval, timeout=timeout,
                             on_error=self._failed) if live else None

    def render(self, key: str) -> str:
        return "<pre>" + html.escape("\n".join(inspect_key(self.client, key))) + "</pre>"

    def refresh(self) -> None:
        try:
            self.view.value = self.render(self.key_box.value.strip())
        except Exception as e:  # noqa: BLE001 - shown in the widget, never printed
            self._failed(e)

    def _tick(self) -> bool:
        self.view.value = self.render(self.key_box.value.strip())
        return False

    def _failed(self, exc: BaseException) -> None:
        self.view.value = "<pre>" + html.escape(f"inspect failed: {explain(exc)}") + "</pre>"

    def stop(self) -> None:
        if self.ticker:
            self.ticker.stop()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if self.ticker:
            self.ticker.start()

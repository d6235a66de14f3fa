"""The widgets' logic against the lab's real cache, and their threads' stopping rules."""
import re
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from helpers.connections import cache_client
from helpers.widgets import ExpireAtPicker, KeyInspector, Ticker, TtlCountdown, inspect_key, ttl_status


@pytest.fixture
def cache(lab_settings):
    client = cache_client(lab_settings.redis_url)
    keys = [f"test:w:{name}" for name in ("a", "b", "h", "gone")]
    client.delete(*keys)
    yield client
    client.delete(*keys)


def test_ttl_status_follows_the_ttl_reply():
    assert ttl_status("notice", 42) == ("notice: 42 s left", False)
    assert ttl_status("notice", -2) == ("notice: expired", True)
    assert ttl_status("notice", -1)[1] is True


def test_the_countdowns_texts_match_the_browser_tests_contract(cache):
    cache.set("test:w:a", "x", ex=30)
    countdown = TtlCountdown("test:w:a", cache)
    assert countdown.label.value == "test:w:a: reading TTL"  # fixed until displayed: nbval compares it
    assert "lab-ttl-countdown" in countdown.widget._dom_classes
    assert countdown.tick() is False
    assert re.fullmatch(r"test:w:a: (\d+) s left", countdown.label.value)
    assert countdown.bar.value in (29, 30)
    cache.delete("test:w:a")
    assert countdown.tick() is True and countdown.label.value == "test:w:a: expired"


def test_a_key_without_expiry_ends_the_countdown(cache):
    cache.set("test:w:a", "x")
    countdown = TtlCountdown("test:w:a", cache)
    assert countdown.tick() is True and "no expiry" in countdown.label.value


def test_the_countdown_thread_follows_the_server_until_the_key_expires(cache):
    cache.set("test:w:a", "x", px=1500)
    countdown = TtlCountdown("test:w:a", cache, interval=0.2, timeout=10).start()
    countdown.ticker.join(5)
    assert not countdown.ticker.running
    assert countdown.label.value == "test:w:a: expired"
    assert countdown.ticker.ticks >= 3  # one TTL call per tick while the key lived


def test_a_ticker_stops_on_its_event():
    ticker = Ticker(lambda: False, interval=10, timeout=60)
    ticker.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    ticker.stop()
    ticker.join(2)
    assert not ticker.running and time.monotonic() - t0 < 1


def test_a_ticker_stops_at_its_deadline_and_says_so():
    said = threading.Event()
    ticker = Ticker(lambda: False, interval=0.05, timeout=0.3, on_deadline=said.set)
    ticker.start()
    ticker.join(3)
    assert not ticker.running and said.is_set() and ticker.ticks <= 8


def test_a_ticker_is_bounded_even_if_the_clock_stands_still():
    ticker = Ticker(lambda: False, interval=0.01, timeout=0.1, clock=lambda: 0.0)
    ticker.start()
    ticker.join(3)
    assert not ticker.running and ticker.ticks == int(0.1 / 0.01) + 2


def test_a_failing_tick_is_handed_over_not_printed(capfd):
    errors = []

    def tick():
        raise ConnectionError("Connection refused")

    ticker = Ticker(tick, interval=0.01, timeout=1, on_error=errors.append)
    ticker.start()
    ticker.join(2)
    assert len(errors) == 1 and ticker.ticks == 1
    assert capfd.readouterr() == ("", "")


def test_a_countdown_on_a_dead_server_shows_the_fix_in_its_label(lab_settings):
    dead = cache_client("redis://127.0.0.1:1/0", check=False)
    countdown = TtlCountdown("k", dead, interval=0.1, timeout=5).start()
    countdown.ticker.join(6)
    assert "countdown stopped" in countdown.label.value and "nothing listens" in countdown.label.value


def test_the_picker_runs_expireat_and_starts_a_countdown(cache):
    cache.set("test:w:b", "Cloud Computing")
    picker = ExpireAtPicker("test:w:b", cache)
    assert "lab-expireat-picker" in picker.widget._dom_classes and picker.when.value is None
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=5)
    picker.pick(when)  # sets the picker and presses the button, as a learner would
    unix_time = int(when.timestamp())
    assert picker.status.value == f"EXPIREAT test:w:b {unix_time} -> (integer) 1"
    assert cache.expiretime("test:w:b") == unix_time
    assert picker.widget.children[-1] is picker.countdown.widget
    picker.countdown.ticker.join(1.5)
    assert re.fullmatch(r"test:w:b: (29\d|300) s left", picker.countdown.label.value)
    picker.countdown.stop()


def test_the_picker_reads_a_naive_time_as_local_time(cache):
    cache.set("test:w:b", "x")
    picker = ExpireAtPicker("test:w:b", cache)
    when = datetime.now().replace(microsecond=0) + timedelta(minutes=2)
    picker.apply(when)
    assert cache.expiretime("test:w:b") == int(time.mktime(when.timetuple()))
    picker.countdown.stop()


def test_the_picker_says_when_the_key_is_missing_or_no_time_is_picked(cache):
    picker = ExpireAtPicker("test:w:gone", cache)
    assert "first" in picker.apply(None)
    assert picker.apply(datetime.now(timezone.utc) + timedelta(minutes=1)).endswith(
        "(integer) 0: test:w:gone does not exist, SET it first")
    assert picker.countdown is None


def test_inspect_key_reads_type_ttl_and_value(cache):
    cache.set("test:w:a", "Cloud Computing", ex=100)
    kind, ttl, value = inspect_key(cache, "test:w:a")
    assert kind == "type: string" and re.fullmatch(r"ttl: (99|100) s", ttl)
    assert value == 'value: "Cloud Computing"'
    cache.hset("test:w:h", mapping={"id": 10, "name": "Mercury"})
    assert inspect_key(cache, "test:w:h") == ["type: hash", "ttl: -1 (no expiry)", "value: id=10, name=Mercury"]
    assert inspect_key(cache, "test:w:gone") == ["type: none (no such key)", "ttl: -2", "value: (nil)"]


def test_the_inspector_shows_the_lines_and_follows_the_server(cache):
    cache.set("test:w:a", "2")
    inspector = KeyInspector("test:w:a", cache, interval=0.1, timeout=5)
    assert "lab-key-inspector" in inspector.widget._dom_classes
    assert inspector.view.value == '<pre>type: string\nttl: -1 (no expiry)\nvalue: &quot;2&quot;</pre>'
    inspector.ticker.start()
    cache.incr("test:w:a")
    deadline = time.monotonic() + 3
    while "&quot;3&quot;" not in inspector.view.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "&quot;3&quot;" in inspector.view.value
    inspector.stop()
    inspector.ticker.join(2)
    assert not inspector.ticker.running

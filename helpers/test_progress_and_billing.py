import pytest
from botocore.exceptions import WaiterError

from helpers.billing import NotConfirmed, confirm_billable, estimate_lines, running_cost
from helpers.config import Settings
from helpers.progress import wait_with_progress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Waiter:
    """Stands in for a boto3 waiter: fails `pending` times with botocore's own error, then succeeds."""

    def __init__(self, pending, reason="Max attempts exceeded"):
        self.pending, self.reason, self.calls = pending, reason, []

    def wait(self, **kwargs):
        self.calls.append(kwargs)
        if self.pending:
            self.pending -= 1
            raise WaiterError(name="x", reason=self.reason, last_response={})


def test_waits_attempt_by_attempt_until_ready(capsys):
    clock, waiter = FakeClock(), Waiter(pending=3)
    waited = wait_with_progress(waiter, what="lab-redis", timeout=600, hint="check X", delay=15,
                                clock=clock, sleep=clock.sleep, CacheClusterId="lab-redis")
    assert waited == 45 and len(waiter.calls) == 4
    assert waiter.calls[0] == {"WaiterConfig": {"Delay": 1, "MaxAttempts": 1}, "CacheClusterId": "lab-redis"}
    assert capsys.readouterr().out.count("lab-redis: not ready yet") == 3


def test_timeout_names_what_to_check():
    clock = FakeClock()
    with pytest.raises(TimeoutError, match="not ready after 60 s: check the console"):
        wait_with_progress(Waiter(pending=99), what="lab-redis", timeout=60, hint="check the console",
                           clock=clock, sleep=clock.sleep)
    assert clock.now == 60


def test_failure_state_is_raised_at_once():
    clock = FakeClock()
    with pytest.raises(WaiterError, match="terminal failure"):
        wait_with_progress(Waiter(pending=1, reason="Waiter encountered a terminal failure state"),
                           what="x", timeout=60, hint="h", clock=clock, sleep=clock.sleep)
    assert clock.now == 0


def settings(mode):
    return Settings(mode=mode, region="ap-south-1", redis_url=None, db_host=None, db_port=3306,
                    db_user=None, db_pass=None, db_name="tutorial")


def test_estimate_per_hour_and_day():
    lines = estimate_lines({"lab-redis": "cache.t4g.micro"})
    assert "~$0.0200/hour" in lines[0] and "~$0.48/day" in lines[0]
    assert lines[-1].startswith("total")


def test_aws_mode_refuses_without_the_typed_name(monkeypatch):
    monkeypatch.delenv("LAB_CONFIRM", raising=False)
    with pytest.raises(NotConfirmed, match="nothing was created"):
        confirm_billable(settings("aws"), "lab-redis", {"lab-redis": "cache.t4g.micro"}, ask=lambda q: "")
    confirm_billable(settings("aws"), "lab-redis", {"lab-redis": "cache.t4g.micro"}, ask=lambda q: "lab-redis")


def test_aws_mode_accepts_lab_confirm(monkeypatch):
    monkeypatch.setenv("LAB_CONFIRM", "lab-mysql, lab-redis")
    confirm_billable(settings("aws"), "lab-redis", {"lab-redis": "cache.t4g.micro"},
                     ask=lambda q: pytest.fail("must not ask"))


def test_local_mode_never_asks():
    confirm_billable(settings("local"), "lab-redis", {"lab-redis": "cache.t4g.micro"},
                     ask=lambda q: pytest.fail("must not ask"))


def test_running_cost():
    from datetime import datetime, timezone

    assert running_cost("cache.t4g.micro", "2026-01-01T00:00:00+00:00",
                        now=datetime(2026, 1, 1, 10, tzinfo=timezone.utc)) == pytest.approx(0.2)


def test_aws_mode_with_nobody_to_ask_refuses_and_names_lab_confirm(monkeypatch):
    """Run All in a headless kernel (nbclient, nbconvert): input() cannot ask. Nothing is created,
    and the message says how to confirm there."""
    monkeypatch.delenv("LAB_CONFIRM", raising=False)

    def no_stdin(prompt):
        raise NotImplementedError("raw_input was called, but this frontend does not support input requests.")

    for ask in (no_stdin, lambda prompt: (_ for _ in ()).throw(EOFError())):
        with pytest.raises(NotConfirmed, match="nothing was created.*set LAB_CONFIRM=lab-redis"):
            confirm_billable(settings("aws"), "lab-redis", {"lab-redis": "cache.t4g.micro"}, ask=ask)

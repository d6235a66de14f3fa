import subprocess
import sys
from datetime import datetime, timezone

import pytest

from helpers.config import PROJECT_ROOT, lab_dir
from helpers.cost import cost_lines, costs_so_far

NOW = datetime(2026, 1, 1, 10, tzinfo=timezone.utc)
STATE = {"cache_created_at": "2026-01-01T00:00:00+00:00", "cache_node_type": "cache.t4g.micro",
         "db_created_at": "2026-01-01T05:00:00+00:00", "db_class": "db.t4g.micro"}


def test_hours_times_the_hourly_price_plus_database_storage():
    found = {name: (hours, usd) for name, _, hours, usd in costs_so_far(STATE, NOW)}
    assert found["lab-redis"] == (10.0, pytest.approx(0.20))
    assert found["lab-mysql"][0] == 5.0
    assert found["lab-mysql"][1] == pytest.approx(5 * (0.02 + 20 * 0.131 / 730))  # instance + 20 GB gp2


def test_lines_say_whether_anything_is_billed():
    aws = cost_lines(STATE, "aws", NOW)
    assert aws[0].startswith("Approximate cost so far") and aws[-1].endswith("~$0.3179")
    assert "  lab-redis            cache.t4g.micro  up   10.00 h  ~$0.2000" in aws
    assert cost_lines(STATE, "local", NOW)[0].startswith("local mode: nothing is billed")
    assert cost_lines({}, "aws") == ["The state file records no billable resource with its creation time: "
                                     "nothing to add up."]


def test_a_creation_time_in_the_future_costs_nothing():
    assert costs_so_far({"cache_created_at": "2027-01-01T00:00:00+00:00"}, NOW)[0][3] == 0.0


def test_the_command_line_prints_the_current_modes_lines(lab_settings):
    out = subprocess.run([sys.executable, "-m", "helpers.cost"], capture_output=True, text=True, timeout=30,
                         cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", "LAB_DIR": str(lab_dir())})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(("local mode: nothing is billed", "The state file records no billable"))


def test_the_client_instance_counts_from_notebook_01s_keys():
    state = {"instance_created_at": "2026-01-01T08:00:00+00:00", "instance_type": "t3.micro"}
    [(name, size, hours, usd)] = costs_so_far(state, NOW)
    assert (name, size, hours) == ("RedisClient-AL2023", "t3.micro", 2.0) and usd > 0

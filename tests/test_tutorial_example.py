"""Code written from the tutorial alone, pointed at lab.env, runs unchanged against the lab."""
import os
import subprocess
import sys
from pathlib import Path

from helpers.config import lab_dir
from helpers.connections import cache_client
from helpers.seed import PLANETS

ROOT = Path(__file__).resolve().parent.parent


def test_tutorial_example_runs_against_the_lab_with_lab_env_sourced(lab_settings):
    cache_client(lab_settings.redis_url).delete("SELECT * FROM planet", "planet:12")
    # Nothing of this process's own settings leaks in: only what lab.env exports.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "DB_", "LAB_MODE", "AWS_"))}
    env["PYTHONWARNINGS"] = "error::DeprecationWarning"  # no deprecated calls in the example
    script = f'. "{lab_dir() / "lab.env"}" && exec "{sys.executable}" examples/tutorial_example.py'
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.splitlines() == [
        str([{"id": i, "name": n} for i, n in PLANETS.items()]),  # the tutorial's eight planets
        "{'id': 12, 'name': 'Earth'}",                            # miss: from the database
        "{b'id': b'12', b'name': b'Earth'}",                      # hit: the hash, as bytes
    ]

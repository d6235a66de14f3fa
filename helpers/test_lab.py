"""The lab's real servers in a private folder: up, status, down, stale pids, a killed server."""
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers.config import read_env_file
from helpers.lab import Lab, LabError, process_cmdline


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab"))
    lab.up(echo=lambda line: None)
    yield lab
    lab.down(echo=lambda line: None)


def states(lab):
    return {name: state for name, state, _, _ in lab.status()}


def test_up_starts_every_service_on_loopback_away_from_system_ports(lab):
    assert states(lab) == {"cache": "running", "cache-tls": "running", "db": "running", "aws": "running"}
    ports = lab.ports()
    assert set(ports) == {"cache", "cache-tls", "db", "aws"}
    assert not {6379, 3306} & set(ports.values())


def test_lab_env_has_the_tutorial_names_and_a_generated_user(lab):
    env = read_env_file(lab.paths.env_file)
    for var in ("REDIS_URL", "REDIS_TLS_URL", "REDIS_TLS_CA", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASS", "DB_NAME", "AWS_ENDPOINT_URL"):
        assert env[var]
    assert env["DB_USER"] != "root" and len(env["DB_PASS"]) >= 16
    assert env["AWS_DEFAULT_REGION"] == "ap-south-1" and env["DB_NAME"] == "tutorial"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_servers_listen_on_loopback_only(lab):
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    for port in lab.ports().values():
        listeners = [line.split()[3] for line in out.splitlines() if line.split()[3].endswith(f":{port}")]
        assert listeners and all(addr.startswith("127.0.0.1:") for addr in listeners), listeners


def test_up_again_is_a_no_op(lab):
    pids = {name: pid for name, _, _, pid in lab.status()}
    lines = []
    lab.up(echo=lines.append)
    assert all("already running" in line for line in lines)
    assert {name: pid for name, _, _, pid in lab.status()} == pids


def test_killed_server_is_reported_and_restarted_on_its_port(lab):
    port = lab.ports()["cache"]
    pid = lab.services()[0].pid()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while process_cmdline(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states(lab)["cache"] == "stale pid file"
    lab.up(echo=lambda line: None)
    assert states(lab)["cache"] == "running" and lab.ports()["cache"] == port
    assert lab.services()[0].pid() != pid


def test_stale_pid_of_a_foreign_process_is_never_killed(lab):
    """A pid file pointing at someone else's process (pid reuse) is stale, not ours to stop."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        svc = lab.services()[-1]
        real = svc.pid()
        svc.paths.pid_file(svc.name).write_text(f"{stranger.pid}\n")
        assert svc.owned_pid() is None
        assert svc.stop() is False and stranger.poll() is None
        svc.paths.pid_file(svc.name).write_text(f"{real}\n")  # hand back the real one
    finally:
        stranger.kill()
        stranger.wait()


def test_down_stops_everything_and_up_brings_the_data_back(tmp_path):
    lab = Lab(tmp_path / "lab")
    lab.up(echo=lambda line: None)
    pids = [pid for _, _, _, pid in lab.status()]
    lab.down(echo=lambda line: None)
    assert all(process_cmdline(pid) in (None, "") for pid in pids)
    assert set(states(lab).values()) == {"stopped"}
    env = lab.up(echo=lambda line: None)  # a second up reuses the data directory and password
    assert env["DB_PASS"] == read_env_file(lab.paths.env_file)["DB_PASS"]
    assert set(states(lab).values()) == {"running"}
    lab.down(echo=lambda line: None)


def test_missing_binary_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr("helpers.lab.find_binary", lambda *names: None)
    with pytest.raises(LabError, match="install the package valkey-server"):
        Lab(tmp_path).up(echo=lambda line: None)


def test_cli_status_exit_code(tmp_path):
    env = {**os.environ, "LAB_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "helpers.lab", "status"], capture_output=True, text=True, env=env)
    assert out.returncode == 3 and "stopped" in out.stdout


def test_hardened_cache_needs_tls_and_the_token(lab):
    import redis

    env = read_env_file(lab.paths.env_file)
    assert env["REDIS_TLS_URL"].startswith("rediss://:")
    assert redis.Redis.from_url(env["REDIS_TLS_URL"], ssl_ca_certs=env["REDIS_TLS_CA"]).ping()
    no_token = "rediss://" + env["REDIS_TLS_URL"].split("@", 1)[1]
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(no_token, ssl_ca_certs=env["REDIS_TLS_CA"]).ping()
    assert (lab.paths.root / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    token = env["REDIS_TLS_URL"].split(":", 2)[2].split("@")[0]
    pid = next(pid for name, _, _, pid in lab.status() if name == "cache-tls")
    assert token not in process_cmdline(pid)  # not visible to `ps`

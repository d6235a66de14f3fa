"""The diagnostics against real servers: the lab's Valkey, a dead port, a port that never
answers, and extra valkey-server processes started here (AUTH, TLS, cluster mode)."""
import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers.config import PROJECT_ROOT
from helpers.diagnose import diagnose, main
from helpers.lab import cache_binaries, free_port, port_open

PASSWORD = "lab-test-token-123"


def statuses(checks):
    return {c.component: c.status for c in checks}


def failed(checks):
    [fail] = [c for c in checks if c.status == "FAIL"]
    return fail


class Servers:
    """valkey-server processes for one test module, on loopback, killed by pid at teardown."""

    def __init__(self, folder):
        self.folder, self.procs = folder, []
        found = cache_binaries()
        if not found:
            pytest.skip("no valkey-server/redis-server installed")
        self.server, self.cli = found

    def start(self, name, *args, port=None, plain=True):
        """Start a server in its own folder; returns its port (the TLS port when plain=False)."""
        port = port or free_port()
        data = self.folder / name
        data.mkdir()
        listen = ["--port", str(port)] if plain else ["--port", "0", "--tls-port", str(port)]
        proc = subprocess.Popen([self.server, "--bind", "127.0.0.1", *listen, "--dir", str(data),
                                 "--save", "", "--appendonly", "no", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 10
        while not port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.05)
        return port

    def cli_run(self, port, *args):
        out = subprocess.run([self.cli, "-p", str(port), *args], capture_output=True, text=True, timeout=5)
        return out.stdout.strip()

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(5)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    s = Servers(tmp_path_factory.mktemp("valkeys"))
    yield s
    s.stop()


def self_signed(folder):
    """A certificate for 127.0.0.1 that is its own CA, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="module")
def auth_port(servers):
    return servers.start("auth", "--requirepass", PASSWORD)


@pytest.fixture(scope="module")
def tls_server(servers, tmp_path_factory):
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    port = servers.start("tls", "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no", plain=False)
    return port, cert


def cluster_node(servers, name):
    """A cluster-mode node; returns (port, bus port). The bus port defaults to port + 10000,
    which may be taken or beyond 65535, so it is picked free too."""
    bus = free_port()
    return servers.start(name, "--cluster-enabled", "yes", "--cluster-port", str(bus)), bus


def wait_cluster_ok(servers, *ports):
    deadline = time.monotonic() + 20
    while not all("cluster_state:ok" in servers.cli_run(p, "CLUSTER", "INFO") for p in ports):
        assert time.monotonic() < deadline, "the test cluster did not reach cluster_state:ok"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def two_node_cluster(servers):
    """Two primaries, half the slots each: a plain client gets MOVED for half the keys."""
    (a, _), (b, b_bus) = cluster_node(servers, "cluster-a"), cluster_node(servers, "cluster-b")
    assert servers.cli_run(a, "CLUSTER", "ADDSLOTSRANGE", "0", "8191") == "OK"
    assert servers.cli_run(b, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383") == "OK"
    assert servers.cli_run(a, "CLUSTER", "MEET", "127.0.0.1", str(b), str(b_bus)) == "OK"
    wait_cluster_ok(servers, a, b)
    return a, b


@pytest.fixture(scope="module")
def one_node_cluster(servers):
    port, _ = cluster_node(servers, "cluster-one")
    assert servers.cli_run(port, "CLUSTER", "ADDSLOTSRANGE", "0", "16383") == "OK"
    wait_cluster_ok(servers, port)
    return port


def timed(url):
    t0 = time.monotonic()
    checks = diagnose(url)
    return checks, time.monotonic() - t0


def test_the_lab_cache_passes_every_check(lab_settings):
    checks, took = timed(lab_settings.redis_url)
    assert [c.status for c in checks] == ["OK"] * 6, [str(c) for c in checks]
    assert "cluster mode disabled" in checks[-1].detail and took < 5


def test_the_cli_on_a_dead_port_exits_non_zero_within_5_s_and_names_the_fix():
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "helpers.diagnose", "redis://127.0.0.1:1"],
                         capture_output=True, text=True, timeout=10, cwd=PROJECT_ROOT)
    assert time.monotonic() - t0 < 5
    assert out.returncode == 1
    assert "FAIL tcp" in out.stdout and "nothing listens on that host and port" in out.stdout


def test_the_cli_says_OK_and_exits_0_for_the_lab(lab_settings, capsys):
    assert main([lab_settings.redis_url]) == 0
    assert capsys.readouterr().out.count("OK ") == 6


@pytest.mark.badinput
def test_a_name_that_does_not_resolve_is_a_dns_fail():
    checks, took = timed("redis://lab-redis.xxxxxx.invalid:6379")
    assert statuses(checks)["dns"] == "FAIL" and took < 5
    assert "copy the Primary/Configuration endpoint" in failed(checks).detail
    assert statuses(checks)["tcp"] == "SKIP"


@pytest.mark.badinput
def test_a_port_that_never_answers_is_a_timeout_naming_the_security_group():
    # A listener whose accept queue is full drops new SYNs, as a security group without the
    # rule does: the connect attempt gets no answer at all (the sandbox refuses remote IPs).
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(0)
    port = black_hole.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        checks, took = timed(f"redis://127.0.0.1:{port}")
    finally:
        filler.close()
        black_hole.close()
    assert statuses(checks)["tcp"] == "FAIL" and took < 5
    assert "SG-RedisCache allows 6379 from SG-RedisClient" in failed(checks).detail


@pytest.mark.badinput
def test_a_wrong_scheme_is_named():
    checks, _ = timed("http://127.0.0.1:6379")
    assert statuses(checks)["url"] == "FAIL" and "redis://" in failed(checks).detail


@pytest.mark.badinput
def test_missing_auth_is_named(auth_port):
    checks, took = timed(f"redis://127.0.0.1:{auth_port}/0")
    assert statuses(checks)["auth"] == "FAIL" and took < 5
    assert "requires AUTH" in failed(checks).detail


@pytest.mark.badinput
def test_a_wrong_password_is_named_and_not_shown(auth_port):
    checks, _ = timed(f"redis://:not-the-token@127.0.0.1:{auth_port}/0")
    assert "wrong password" in failed(checks).detail
    assert "not-the-token" not in "\n".join(str(c) for c in checks)


def test_the_right_password_passes_and_is_never_printed(auth_port):
    checks, _ = timed(f"redis://:{PASSWORD}@127.0.0.1:{auth_port}/0")
    assert [c.status for c in checks] == ["OK"] * 6
    assert PASSWORD not in "\n".join(str(c) for c in checks)


@pytest.mark.badinput
def test_a_password_the_server_does_not_need_is_named(lab_settings):
    url = lab_settings.redis_url.replace("redis://", "redis://:spare@")
    assert "drop the password" in failed(diagnose(url)).detail


@pytest.mark.badinput
def test_plain_url_on_a_tls_server_says_use_rediss(tls_server):
    port, _ = tls_server
    checks, took = timed(f"redis://127.0.0.1:{port}/0")
    assert statuses(checks)["tls"] == "FAIL" and took < 5
    assert "use rediss://" in failed(checks).detail and "--tls" in failed(checks).detail


@pytest.mark.badinput
def test_rediss_url_on_a_plain_server_says_use_redis(lab_settings):
    checks, took = timed(lab_settings.redis_url.replace("redis://", "rediss://"))
    assert statuses(checks)["tls"] == "FAIL" and took < 5
    assert "does not speak TLS: use redis://" in failed(checks).detail


@pytest.mark.badinput
def test_an_untrusted_certificate_is_named(tls_server):
    port, _ = tls_server
    checks, _ = timed(f"rediss://127.0.0.1:{port}/0")
    assert statuses(checks)["tls"] == "FAIL"
    assert "not trusted" in failed(checks).detail and "ssl_ca_certs" in failed(checks).detail


def test_rediss_with_the_servers_ca_passes(tls_server):
    port, cert = tls_server
    checks, _ = timed(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")
    assert [c.status for c in checks] == ["OK"] * 6, [str(c) for c in checks]
    assert "certificate verified" in checks[3].detail


@pytest.mark.badinput
def test_a_cluster_endpoint_with_a_plain_client_gets_moved(two_node_cluster, servers):
    a, _ = two_node_cluster
    checks, took = timed(f"redis://127.0.0.1:{a}")
    assert statuses(checks)["cluster"] == "FAIL" and took < 5
    detail = failed(checks).detail
    assert "-> MOVED" in detail and "valkey-cli -c" in detail and "RedisCluster" in detail


def test_a_single_node_cluster_is_ok_but_says_to_use_a_cluster_client(one_node_cluster):
    # Measured: a node that owns all 16384 slots never answers MOVED, so a plain client works.
    checks, _ = timed(f"redis://127.0.0.1:{one_node_cluster}")
    assert [c.status for c in checks] == ["OK"] * 6
    assert "answered keys in 64 slots" in checks[-1].detail and "valkey-cli -c" in checks[-1].detail

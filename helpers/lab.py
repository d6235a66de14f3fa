"""The local lab: the lab's own Valkey, MariaDB and AWS emulator on loopback.

    python -m helpers.lab up|down|status|env

Everything lives under .lab/ (or $LAB_DIR): data, logs, pid files, the ports it picked,
and lab.env. It never touches system services or the well-known ports 6379/3306, and it
stops only processes whose pid file it wrote and whose command line names its own folder.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import getpass
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.config import NAMES, lab_dir, read_env_file, write_env_file

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin")
RESERVED_PORTS = {6379, 3306}  # the system servers' ports: never ours
START_TIMEOUT = 30.0
DB_USER = "labuser"


class LabError(RuntimeError):
    """A lab service cannot be started; the message names the fix."""


def find_binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (str(Path(d) / name) for d in SBIN_DIRS if (Path(d) / name).is_file()), None)
        if found:
            return found
    return None


def cache_binaries() -> tuple[str, str] | None:
    """(server, cli): Valkey first, as on Amazon Linux 2023; Redis OSS as the fallback."""
    for server, cli in (("valkey-server", "valkey-cli"), ("redis-server", "redis-cli")):
        s, c = find_binary(server), find_binary(cli)
        if s and c:
            return s, c
    return None


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def port_released(port: int, grace: float = 2.0) -> bool:
    """True once nothing listens on the port. A process that was just killed closes its
    sockets a moment after its command line disappears, so give it a short grace."""
    deadline = time.monotonic() + grace
    while port_open(port, timeout=0.2):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def process_cmdline(pid: int) -> str | None:
    """The command line of a live process, or None if there is none."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        if Path("/proc").is_dir():
            return None
    except OSError:
        return None
    out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
    return out.stdout.strip() or None


@dataclass
class Paths:
    root: Path

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def env_file(self) -> Path:
        return self.root / "lab.env"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"


class Service:
    """One server process the lab owns. Subclasses say how to start it and when it is ready."""

    name = ""
    label = ""

    def __init__(self, paths: Paths):
        self.paths = paths

    # -- what subclasses provide
    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-time setup before the first start (e.g. creating a data directory)."""

    def ready(self, port: int) -> bool:
        return port_open(port)

    def after_start(self, port: int, env: dict) -> None:
        """Work once the server answers (users, seed data)."""

    # -- process bookkeeping
    def pid(self) -> int | None:
        try:
            return int(self.paths.pid_file(self.name).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def owned_pid(self) -> int | None:
        """The recorded pid, if that process is alive and is ours (its command names our folder)."""
        pid = self.pid()
        if pid is None:
            return None
        cmd = process_cmdline(pid)
        return pid if cmd and str(self.paths.root) in cmd else None

    def state(self, port: int | None) -> str:
        pid, owned = self.pid(), self.owned_pid()
        if owned and port and self.ready(port):
            return "running"
        if owned:
            return "not answering"
        return "stale pid file" if pid else "stopped"

    def start(self, port: int) -> int:
        self.prepare()
        log = open(self.paths.logs / f"{self.name}.log", "ab")
        proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=self.paths.root)
        self.paths.pid_file(self.name).write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(f"{self.name} exited at start (code {proc.returncode}); "
                               f"see {self.paths.logs / (self.name + '.log')}")
            if self.ready(port):
                return proc.pid
            time.sleep(0.1)
        raise LabError(f"{self.name} did not answer on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s; "
                       f"see {self.paths.logs / (self.name + '.log')}")

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop our process by pid (TERM, then KILL). Returns True if one was running."""
        pid = self.owned_pid()
        self.paths.pid_file(self.name).unlink(missing_ok=True)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process_cmdline(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if it was our own child
            time.sleep(0.05)
        if process_cmdline(pid):
            os.kill(pid, signal.SIGKILL)
        return True


class CacheService(Service):
    name, label = "cache", "cache"

    def __init__(self, paths: Paths):
        super().__init__(paths)
        found = cache_binaries()
        if not found:
            raise LabError("no valkey-server found: install the package valkey-server "
                           "(Debian: apt-get install -t bookworm-backports valkey-server valkey-tools; "
                           "macOS: brew install valkey), or run `make up`")
        self.server, self.cli = found
        self.label = Path(self.server).name.split("-")[0]  # valkey | redis

    def command(self, port: int) -> list[str]:
        data = self.paths.root / "cache"
        data.mkdir(exist_ok=True)
        return [self.server, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
                # Keep the real command line: it is how `down` recognises our own process.
                "--set-proc-title", "no",
                # ElastiCache's default policy, so eviction behaves as it will on AWS.
                "--maxmemory-policy", "volatile-lru"]

    def ready(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def version(self) -> str:
        out = subprocess.run([self.server, "--version"], capture_output=True, text=True).stdout
        return next((w[2:] for w in out.split() if w.startswith("v=")), "?")


class TlsCacheService(CacheService):
    """The hardened variant of notebook 02, runnable locally: TLS on a self-signed
    certificate plus a password, like ElastiCache with in-transit encryption and an AUTH token."""

    name = "cache-tls"

    @property
    def tls_dir(self) -> Path:
        return self.paths.root / "tls"

    def prepare(self) -> None:
        cert = self.tls_dir / "cert.pem"
        if cert.exists():
            return
        self.tls_dir.mkdir(exist_ok=True)
        openssl = find_binary("openssl")
        if not openssl:
            raise LabError("no openssl found: install the package openssl")
        out = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
             "-keyout", str(self.tls_dir / "key.pem"), "-out", str(cert),
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            capture_output=True, text=True, timeout=60)
        if out.returncode:
            raise LabError(f"openssl could not make the lab's certificate: {out.stderr.strip()[-300:]}")
        (self.tls_dir / "key.pem").chmod(0o600)

    def password(self) -> str:
        path = self.tls_dir / "auth-token"
        if not path.exists():
            self.tls_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def command(self, port: int) -> list[str]:
        data = self.paths.root / "cache-tls"
        data.mkdir(exist_ok=True)
        cert = str(self.tls_dir / "cert.pem")
        # The token goes in a 0600 config file, not on the command line where `ps` shows it.
        conf = self.tls_dir / "valkey.conf"
        conf.write_text(f"requirepass {self.password()}\n")
        conf.chmod(0o600)
        return [self.server, str(conf), "--bind", "127.0.0.1", "--port", "0", "--tls-port", str(port),
                "--tls-cert-file", cert, "--tls-key-file", str(self.tls_dir / "key.pem"),
                "--tls-ca-cert-file", cert, "--tls-auth-clients", "no",
                "--dir", str(data), "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--set-proc-title", "no", "--maxmemory-policy", "volatile-lru"]

    def ready(self, port: int) -> bool:
        return port_open(port)


class DatabaseService(Service):
    name, label = "db", "mariadb"

    def __init__(self, paths: Paths):
        super().__init__(paths)
        self.server = find_binary("mariadbd", "mysqld")
        self.install_db = find_binary("mariadb-install-db", "mysql_install_db")
        self.client = find_binary("mariadb", "mysql")
        # MySQL 8 (e.g. conda-forge's mysql-server) has no install_db script: mysqld initialises itself.
        if not (self.server and self.client and (self.install_db or self.server.endswith("mysqld"))):
            raise LabError("no mariadbd found: install the package mariadb-server "
                           "(Debian: apt-get install mariadb-server; macOS: brew install mariadb), "
                           "or run `make up`")

    @property
    def datadir(self) -> Path:
        return self.paths.root / "db"

    @property
    def socket(self) -> Path:
        return self.paths.run / "db.sock"

    def prepare(self) -> None:
        if (self.datadir / "mysql").is_dir():
            return
        shutil.rmtree(self.datadir, ignore_errors=True)  # a half-made datadir from a crash
        if self.install_db:
            cmd = [self.install_db, "--no-defaults", f"--datadir={self.datadir}", f"--user={getpass.getuser()}",
                   "--auth-root-authentication-method=socket", "--skip-test-db"]
        else:  # MySQL: root@localhost without a password, reachable only through the lab's socket
            cmd = [self.server, "--no-defaults", "--initialize-insecure", f"--datadir={self.datadir}",
                   f"--user={getpass.getuser()}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise LabError(f"mariadb-install-db failed: {out.stderr.strip()[-500:]}")

    def command(self, port: int) -> list[str]:
        return [self.server, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
                f"--port={port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
                f"--user={getpass.getuser()}", f"--pid-file={self.paths.run / 'mariadbd.pid'}",
                "--innodb-buffer-pool-size=64M", "--skip-log-bin",
                f"--log-error={self.paths.logs / 'mariadbd.err'}"]

    def sql_as_admin(self, sql: str) -> None:
        """Run SQL as the socket-authenticated admin: only the lab's own OS user can."""
        admin = getpass.getuser() if self.install_db else "root"
        out = subprocess.run([self.client, "--no-defaults", f"--socket={self.socket}",
                              "-u", admin, "-e", sql],
                             capture_output=True, text=True, timeout=30)
        if out.returncode:
            raise LabError(f"database setup failed: {out.stderr.strip()}")

    def after_start(self, port: int, env: dict) -> None:
        user, password = env["DB_USER"], env["DB_PASS"]
        grants = []
        for host in ("127.0.0.1", "localhost"):
            grants += [f"CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{password}'",
                       f"ALTER USER '{user}'@'{host}' IDENTIFIED BY '{password}'",
                       f"GRANT ALL PRIVILEGES ON `{env['DB_NAME']}`.* TO '{user}'@'{host}'"]
        self.sql_as_admin(f"CREATE DATABASE IF NOT EXISTS `{env['DB_NAME']}` "
                          "CHARACTER SET utf8mb4; " + "; ".join(grants))
        import pymysql

        from helpers.seed import load_sql

        conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=password,
                               database=env["DB_NAME"], connect_timeout=5)
        try:
            load_sql(conn)
        finally:
            conn.close()


class EmulatorService(Service):
    name, label = "aws", "moto"

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "helpers.emulator", "--port", str(port),
                "--lab-dir", str(self.paths.root)]


class Lab:
    """The three services plus lab.env. All methods are safe to call again (idempotent)."""

    SERVICES = (CacheService, TlsCacheService, DatabaseService, EmulatorService)

    def __init__(self, root: Path | None = None):
        self.paths = Paths(Path(root) if root else lab_dir())

    @contextlib.contextmanager
    def _locked(self):
        """One `up`/`down` at a time, so two terminals cannot start two servers."""
        for d in (self.paths.root, self.paths.run, self.paths.logs):
            d.mkdir(parents=True, exist_ok=True)
        with open(self.paths.root / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def ports(self) -> dict[str, int]:
        try:
            return json.loads(self.paths.ports_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def services(self) -> list[Service]:
        return [cls(self.paths) for cls in self.SERVICES]

    def _env(self, ports: dict[str, int]) -> dict[str, str]:
        old = read_env_file(self.paths.env_file) if self.paths.env_file.exists() else {}
        return {
            "LAB_MODE": "local",
            "REDIS_URL": f"redis://127.0.0.1:{ports['cache']}/0",
            # The hardened cache (TLS + AUTH token); the password lives only here and in tls/.
            "REDIS_TLS_URL": f"rediss://:{TlsCacheService(self.paths).password()}@127.0.0.1:{ports['cache-tls']}/0",
            "REDIS_TLS_CA": str(self.paths.root / "tls" / "cert.pem"),
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(ports["db"]),
            "DB_USER": DB_USER,
            # Generated once per lab; kept only in this 0600 file.
            "DB_PASS": old.get("DB_PASS") or secrets.token_urlsafe(18),
            "DB_NAME": NAMES.db_name,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['aws']}",
            "AWS_DEFAULT_REGION": NAMES.region,
            # Dummy credentials: valid only against the emulator above.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def up(self, echo=print) -> dict[str, str]:
        with self._locked():
            services = self.services()
            ports = self.ports()
            for svc in services:
                port = ports.get(svc.name)
                if svc.owned_pid() and port and svc.ready(port):
                    continue
                svc.stop()  # a hung or stale process of ours, if any
                if not port or not port_released(port):
                    port = free_port()  # first start, or someone else took our old port
                ports[svc.name] = port
            self.paths.ports_file.write_text(json.dumps(ports, indent=2) + "\n")
            env = self._env(ports)
            write_env_file(self.paths.env_file, env,
                           "Local lab endpoints (python -m helpers.lab up). Source it: . .lab/lab.env")
            for svc in services:
                port = ports[svc.name]
                if svc.state(port) == "running":
                    echo(f"{svc.name:<9} already running  127.0.0.1:{port}")
                    continue
                t0 = time.monotonic()
                pid = svc.start(port)
                svc.after_start(port, env)
                echo(f"{svc.name:<9} started ({svc.label}) 127.0.0.1:{port} pid {pid} "
                     f"in {time.monotonic() - t0:.1f} s")
            return env

    def down(self, echo=print) -> None:
        with self._locked():
            for svc in reversed(self.services()):
                echo(f"{svc.name:<9} {'stopped' if svc.stop() else 'was not running'}")

    def status(self) -> list[tuple[str, str, int | None, int | None]]:
        ports = self.ports()
        rows = []
        for svc in self.services():
            port = ports.get(svc.name)
            rows.append((svc.name, svc.state(port), port, svc.pid()))
        return rows

    def running(self) -> bool:
        return self.paths.env_file.exists() and all(r[1] == "running" for r in self.status())


def ensure_running(echo=print) -> None:
    """Bring the local lab up if any service is down (used by the notebooks' setup)."""
    lab = Lab()
    if not lab.running():
        lab.up(echo=echo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.lab", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    lab = Lab()
    try:
        if args.command == "up":
            lab.up()
            print(f"lab.env: {lab.paths.env_file}")
        elif args.command == "down":
            lab.down()
        elif args.command == "status":
            rows = lab.status()
            for name, state, port, pid in rows:
                where = f"127.0.0.1:{port}" if port else "-"
                print(f"{name:<9} {state:<15} {where:<17} pid {pid or '-'}")
            return 0 if all(r[1] == "running" for r in rows) else 3
        elif args.command == "env":
            if not lab.paths.env_file.exists():
                print("the lab has no lab.env yet: run `python -m helpers.lab up`", file=sys.stderr)
                return 1
            print(lab.paths.env_file.read_text(), end="")
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

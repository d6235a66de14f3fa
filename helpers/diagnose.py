"""Connection diagnostics: the seed's "Common Errors & Quick Fix" table as checks.

    python -m helpers.diagnose [URL]      (default: the current mode's REDIS_URL)

One line per layer, in the order a connection is made: URL, DNS, TCP, TLS, AUTH, cluster
mode. Each check answers within 5 s; a FAIL line names the fix (the same advice as
helpers.errors gives everywhere else) and the later checks are skipped. Exits 1 on a FAIL.
"""
from __future__ import annotations

import argparse
import ipaddress
import socket
import ssl
import sys
import threading
import time

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from helpers.checks import Check
from helpers.connections import redact
from helpers.errors import FIXES, classify, explain
from helpers.resp import Endpoint, Error, Session

CHECK_TIMEOUT = 4.0   # the most one network wait may take, so each check answers within 5 s
PROBE_TIMEOUT = 1.5   # a wait that tells TLS from plain text; three fit in one check


def spread_keys(count: int = 64) -> list[str]:
    """One probe key in each of `count` equal parts of the 16384 hash slots."""
    width, found, i = REDIS_CLUSTER_HASH_SLOTS // count, {}, 0
    while len(found) < count:
        key = f"diagnose:{i}"
        found.setdefault(key_slot(key.encode()) // width, key)
        i += 1
    return [found[part] for part in sorted(found)]


PROBE_KEYS = spread_keys()


class Failed(Exception):
    """A check failed; `fix` is the advice shown on its FAIL line."""

    def __init__(self, detail: str, fix: str):
        super().__init__(detail)
        self.detail, self.fix = detail, fix


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def resolve(host: str, port: int, timeout: float = CHECK_TIMEOUT) -> list[str]:
    """getaddrinfo has no timeout of its own: run it in a daemon thread and stop waiting."""
    result: dict = {}

    def lookup():
        try:
            result["addrs"] = sorted({a[4][0] for a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})
        except OSError as e:
            result["error"] = e

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    if "error" in result:
        raise result["error"]
    if "addrs" not in result:
        raise Failed(f"no DNS answer for {host} within {timeout:.0f} s", FIXES["dns"])
    return result["addrs"]


def plain_text_answers(ep: Endpoint) -> bool:
    """Does the port answer a plain-text PING with any RESP reply (even -NOAUTH)?"""
    try:
        with Session(ep, connect_timeout=PROBE_TIMEOUT, timeout=PROBE_TIMEOUT) as probe:
            probe.open_tcp()
            probe.command("PING")
            return True
    except (OSError, ValueError):
        return False


def tls_answers(ep: Endpoint) -> bool:
    """Does the port complete a TLS handshake (certificate not checked: only the protocol)?"""
    try:
        with Session(ep, connect_timeout=PROBE_TIMEOUT, timeout=PROBE_TIMEOUT) as probe:
            probe.open_tcp()
            probe.start_tls(verify=False)
            return True
    except OSError:
        return False


class Diagnosis:
    """Runs the checks in connection order over one Session, keeping it open between them."""

    def __init__(self, url: str):
        self.url = url
        self.ep: Endpoint | None = None
        self.session: Session | None = None

    def check_url(self) -> str:
        try:
            self.ep = Endpoint.from_url(self.url)
        except ValueError as e:
            raise Failed(f"cannot read {redact(self.url)}", str(e)) from e
        ep = self.ep
        auth = "with AUTH" if ep.password is not None else "no AUTH"
        return f"{redact(self.url)}: {ep.host}:{ep.port}, {'TLS' if ep.tls else 'no TLS'}, {auth}"

    def check_dns(self) -> str:
        try:
            ipaddress.ip_address(self.ep.host)
            return f"{self.ep.host} is an IP address (nothing to resolve)"
        except ValueError:
            pass
        try:
            addrs = resolve(self.ep.host, self.ep.port)
        except OSError as e:
            raise Failed(f"{self.ep.host} does not resolve ({e})", FIXES["dns"]) from e
        return f"{self.ep.host} resolves to {', '.join(addrs)}"

    def check_tcp(self) -> str:
        self.session = Session(self.ep, timeout=CHECK_TIMEOUT)
        t0 = time.monotonic()
        try:
            self.session.open_tcp()
        except OSError as e:
            raise Failed(f"no TCP connection to {self.ep.host}:{self.ep.port} ({e})", explain(e)) from e
        return f"connected to {self.ep.host}:{self.ep.port} in {ms(time.monotonic() - t0)}"

    def check_tls(self) -> str:
        ep, session = self.ep, self.session
        if ep.tls:
            session.sock.settimeout(PROBE_TIMEOUT)  # a plain server may swallow the hello silently
            try:
                session.start_tls()
                session.sock.settimeout(session.timeout)
            except ssl.SSLCertVerificationError as e:
                raise Failed(f"TLS handshake: {e.verify_message}", FIXES["tls_cert"]) from e
            except OSError as e:
                # Did the hello fail because the port speaks plain text? Ask it in plain text.
                if plain_text_answers(ep):
                    raise Failed("TLS handshake failed, but the port answers plain text",
                                 FIXES["tls_unexpected"]) from e
                raise Failed(f"TLS handshake failed ({e})", explain(e)) from e
            checked = "certificate verified" if ep.verify else "certificate NOT verified (ssl_cert_reqs=none)"
            return f"{session.sock.version()} handshake done, {checked}"
        try:
            session.sock.settimeout(PROBE_TIMEOUT)  # a TLS server may wait for a hello silently
            session.command("PING")
            session.sock.settimeout(session.timeout)
        except OSError as e:
            if tls_answers(ep):
                raise Failed("no reply to a plain-text PING, but the port speaks TLS",
                             FIXES["tls_required"]) from e
            raise Failed(f"no reply to a plain-text PING ({e})", explain(e)) from e
        return "plain text, as redis:// says (the server answered without TLS)"

    def check_auth(self) -> str:
        session = self.session
        try:
            refused = session.login()
            reply = refused or session.command("PING")
        except OSError as e:
            raise Failed(f"no reply after connecting ({e})", explain(e)) from e
        if isinstance(reply, Error):
            key = classify(Exception(reply))
            raise Failed(f"the server said: {reply}", FIXES.get(key, f"unexpected reply {reply!r}"))
        if reply != "PONG":
            raise Failed(f"PING answered {reply!r}", "this port does not look like Valkey/Redis")
        how = "AUTH accepted" if self.ep.password is not None else "no AUTH needed"
        return f"{how}; PING -> PONG"

    def check_cluster(self) -> str:
        session = self.session
        info = session.command("INFO", "cluster")
        if isinstance(info, Error) or b"cluster_enabled:1" not in info:
            return "cluster mode disabled: a plain client (valkey-cli -h, redis.Redis) is right"
        # Ask for keys spread over the whole slot range: another shard's slot answers MOVED.
        for key in PROBE_KEYS:
            reply = session.command("EXISTS", key)
            if isinstance(reply, Error):
                raise Failed(f"EXISTS {key} -> {reply}", FIXES["cluster"] if reply.startswith(("MOVED", "ASK"))
                             else f"unexpected reply {reply!r}")
        return (f"cluster mode enabled; this node answered keys in {len(PROBE_KEYS)} slots spread over all "
                "16384, so a plain client works for now. Use a cluster client (valkey-cli -c, RedisCluster) "
                "before adding shards")

    CHECKS = (("url", check_url), ("dns", check_dns), ("tcp", check_tcp), ("tls", check_tls),
              ("auth", check_auth), ("cluster", check_cluster))

    def run(self, echo=None) -> list[Check]:
        results: list[Check] = []
        failed = False
        try:
            for name, method in self.CHECKS:
                if failed:
                    result = Check(name, "SKIP", "not run: fix the FAIL above first")
                else:
                    try:
                        result = Check(name, "OK", method(self))
                    except Failed as f:
                        result, failed = Check(name, "FAIL", f"{f.detail} -> fix: {f.fix}"), True
                    except (OSError, ValueError) as e:  # a reply none of the checks expected
                        result, failed = Check(name, "FAIL", f"{type(e).__name__}: {e} -> fix: {explain(e)}"), True
                results.append(result)
                if echo:
                    echo(str(result))
        finally:
            if self.session:
                self.session.close()
        return results


def diagnose(url: str, echo=None) -> list[Check]:
    """The checks for `url`, in connection order; echo(line) is called as each one finishes."""
    return Diagnosis(url).run(echo=echo)


def report(url: str, echo=print) -> bool:
    """Print one line per check (for a notebook cell); True when nothing failed."""
    return all(c.status != "FAIL" for c in diagnose(url, echo=echo))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.diagnose", description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="redis:// or rediss:// URL (default: the current REDIS_URL)")
    args = parser.parse_args(argv)
    url = args.url
    if not url:
        from helpers.config import ConfigError, load_settings

        try:
            url = load_settings().redis_url
        except ConfigError as e:
            parser.error(str(e))
        if not url:
            parser.error("no URL given and REDIS_URL is not set")
    return 0 if report(url, echo=lambda line: print(line, flush=True)) else 1


if __name__ == "__main__":
    sys.exit(main())

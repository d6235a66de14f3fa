"""A minimal RESP client that keeps each reply's type, the way valkey-cli sees it.

redis-py turns the status reply `+OK` and the bulk string `$2 OK` into the same Python str;
valkey-cli prints the first as OK and the second as "OK". The %%valkey magic needs that
difference, and the diagnostics need each layer on its own (TCP, then TLS, then AUTH), so
both speak the protocol through this small class instead of redis-py.
"""
from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from helpers.connections import COMMAND_TIMEOUT, CONNECT_TIMEOUT

SCHEMES = {"redis": False, "valkey": False, "rediss": True, "valkeys": True}  # scheme -> TLS


class Status(str):
    """A simple-string reply (+OK, +PONG): valkey-cli prints it without quotes."""


class Error(str):
    """An error reply (-ERR ...): returned, not raised, because valkey-cli prints it."""


class Double(str):
    """A RESP3 double, kept as the server's text."""


class BigNumber(str):
    """A RESP3 big number, kept as the server's text."""


class Verbatim(str):
    """A RESP3 verbatim string (e.g. INFO under HELLO 3): printed as is."""


class Map(list):
    """A RESP3 map as a flat [key, value, ...] list, in the server's order."""


class Set(list):
    """A RESP3 set."""


@dataclass(frozen=True)
class Endpoint:
    """What a redis:// or rediss:// URL says: where, whether TLS, and which credentials."""

    host: str
    port: int
    tls: bool
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never shown by repr()
    verify: bool = True            # check the server's certificate (?ssl_cert_reqs=none turns it off)
    ca_file: str | None = None     # ?ssl_ca_certs=ca.pem, for a self-signed lab server

    @classmethod
    def from_url(cls, url: str) -> "Endpoint":
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError(f"{parts.scheme or 'no'} scheme: the URL must start with redis:// "
                             "(or rediss:// for TLS), e.g. redis://host:6379/0")
        if not parts.hostname:
            raise ValueError("the URL has no host: use redis://host:6379/0")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path.strip("/")
        return cls(host=parts.hostname, port=parts.port or 6379, tls=SCHEMES[parts.scheme],
                   db=int(path or query.get("db", 0)),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password is not None else None,
                   verify=query.get("ssl_cert_reqs", "required").lower() not in ("none", "optional"),
                   ca_file=query.get("ssl_ca_certs"))

    @property
    def prompt(self) -> str:
        """valkey-cli's prompt for this endpoint: host:port, plus [db] when not 0."""
        return f"{self.host}:{self.port}" + (f"[{self.db}]" if self.db else "")

    def tls_context(self, verify: bool | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not (self.verify if verify is None else verify):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def encode(args) -> bytes:
    """A command as a RESP array of bulk strings (what valkey-cli sends)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def read_reply(stream):
    """One reply from a binary file-like stream, typed as above; bulk strings stay bytes."""
    line = stream.readline()
    if not line:
        raise ConnectionError("Connection closed by server.")
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"protocol error: incomplete reply {line[:40]!r}")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return Status(body.decode(errors="replace"))
    if kind == b"-":
        return Error(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind in (b"$", b"="):
        size = int(body)
        if size < 0:
            return None
        data = stream.read(size + 2)[:-2]
        return Verbatim(data[4:].decode(errors="replace")) if kind == b"=" else data
    if kind in (b"*", b"~", b">", b"%"):
        count = int(body)
        if count < 0:
            return None
        items = [read_reply(stream) for _ in range(count * (2 if kind == b"%" else 1))]
        return Map(items) if kind == b"%" else Set(items) if kind == b"~" else items
    if kind == b"_":
        return None
    if kind == b"#":
        return body == b"t"
    if kind == b",":
        return Double(body.decode())
    if kind == b"(":
        return BigNumber(body.decode())
    raise ConnectionError(f"protocol error: unexpected reply {line[:40]!r}; "
                          "is this a Valkey/Redis port?")


class Session:
    """One connection, opened step by step so each step can be checked on its own."""

    def __init__(self, endpoint: Endpoint, *, connect_timeout: float = CONNECT_TIMEOUT,
                 timeout: float = COMMAND_TIMEOUT):
        self.endpoint = endpoint
        self.connect_timeout, self.timeout = connect_timeout, timeout
        self.sock: socket.socket | None = None
        self.stream = None

    def open_tcp(self) -> None:
        self.sock = socket.create_connection((self.endpoint.host, self.endpoint.port),
                                             timeout=self.connect_timeout)
        self.sock.settimeout(self.timeout)
        self.stream = self.sock.makefile("rb")

    def start_tls(self, verify: bool | None = None) -> None:
        self.sock = self.endpoint.tls_context(verify).wrap_socket(
            self.sock, server_hostname=self.endpoint.host)
        self.stream = self.sock.makefile("rb")

    def command(self, *args):
        self.sock.sendall(encode(args))
        return read_reply(self.stream)

    def login(self):
        """AUTH (if the URL has a password) and SELECT (if db is not 0); returns the first
        error reply, or None when the session is ready for commands."""
        ep = self.endpoint
        if ep.password is not None:
            reply = self.command("AUTH", *([ep.username] if ep.username else []), ep.password)
            if isinstance(reply, Error):
                return reply
        if ep.db:
            reply = self.command("SELECT", ep.db)
            if isinstance(reply, Error):
                return reply
        return None

    def connect(self):
        """TCP, TLS if the URL says so, then login(); returns login()'s result."""
        self.open_tcp()
        if self.endpoint.tls:
            self.start_tls()
        return self.login()

    def close(self) -> None:
        for thing in (self.stream, self.sock):
            if thing is not None:
                try:
                    thing.close()
                except OSError:
                    pass
        self.sock = self.stream = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

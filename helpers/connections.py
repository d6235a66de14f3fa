"""Connection factories: the cache (standalone, TLS, AUTH, cluster) and the database.

Short timeouts and no hidden retries, so a wrong endpoint fails within 5 s with advice
instead of hanging a notebook cell.
"""
from __future__ import annotations

import ssl
from urllib.parse import urlsplit, urlunsplit

import pymysql
import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from helpers.config import ConfigError, Settings, load_settings
from helpers.errors import LabConnectionError

CONNECT_TIMEOUT = 2.0   # seconds to open a TCP connection
COMMAND_TIMEOUT = 5.0   # seconds for one reply
DB_CONNECT_TIMEOUT = 4  # seconds to reach the database (TCP), and again for its greeting


def redact(url: str) -> str:
    """The URL with any password replaced by ***, fit for messages and outputs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_cluster_endpoint(url: str) -> bool:
    """ElastiCache names cluster-mode configuration endpoints `<name>.xxxxxx.clustercfg.<region>...`."""
    return ".clustercfg." in (urlsplit(url).hostname or "")


def cache_client(url: str | None = None, *, cluster: bool | None = None, decode_responses: bool = True,
                 check: bool = True, **kwargs) -> redis.Redis | RedisCluster:
    """A redis-py client for REDIS_URL (or `url`): rediss:// means TLS, user:pass@ means AUTH.

    decode_responses=True by default, so cache hits come back as str like database rows do.
    With check=True it PINGs once and raises LabConnectionError with the fix on failure; a server
    in cluster mode then gets a cluster client unless cluster=False.
    """
    url = url or load_settings().redis_url
    if not url:
        raise ConfigError("REDIS_URL is not set: in aws mode run notebook 02 first; "
                          "in byo mode export REDIS_URL=redis://host:6379/0")
    opts = dict(socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=COMMAND_TIMEOUT,
                decode_responses=decode_responses, retry=Retry(NoBackoff(), 1))
    opts.update(kwargs)
    use_cluster = is_cluster_endpoint(url) if cluster is None else cluster
    try:
        if check and not use_cluster:
            # A cluster-mode node behind a plain name: a plain client would get MOVED for most keys.
            use_cluster = _probe(url, opts) and cluster is None
        if use_cluster:
            opts.pop("retry", None)
            client = RedisCluster.from_url(url, **opts)
        else:
            client = redis.Redis.from_url(url, **opts)
    except (redis.RedisError, OSError) as e:
        raise LabConnectionError(f"cannot use the cache at {redact(url)}", e) from e
    return client


def _probe(url: str, opts: dict) -> bool:
    """One PING on a short leash, without retries, so a wrong endpoint fails within 5 s;
    returns whether the server runs in cluster mode.

    The TLS handshake runs under the command timeout, and a plain-text server never answers a
    ClientHello: without the short timeout rediss:// on a plain port waits 2 x 5 s, then blames
    the network. When that happens, ask the port in plain text to name the real cause.
    """
    probe = redis.Redis.from_url(url, **{**opts, "socket_timeout": CONNECT_TIMEOUT, "retry": None})
    try:
        probe.ping()
        try:
            return str(probe.info("cluster").get("cluster_enabled")) == "1"
        except redis.ResponseError:  # INFO not allowed for this user: assume a plain endpoint
            return False
    except redis.TimeoutError as e:
        if url.startswith("rediss://") and _answers_plain_text(url):
            raise ssl.SSLError("the TLS handshake got no answer, but the port speaks plain text") from e
        raise
    finally:
        probe.close()


def _answers_plain_text(url: str) -> bool:
    from helpers.diagnose import plain_text_answers  # late: diagnose imports this module
    from helpers.resp import Endpoint

    return plain_text_answers(Endpoint.from_url(url.replace("rediss://", "redis://", 1)))


def db_connection(settings: Settings | None = None, **kwargs) -> pymysql.connections.Connection:
    """A PyMySQL connection with dict rows (as the tutorial prints them) and autocommit.

    In aws mode the password comes from the RDS-managed secret notebook 04 recorded, so every
    caller (the checks, the bench, the data set) reaches RDS without handling the secret itself.
    """
    from helpers.db_endpoint import database_settings

    s = database_settings(settings or load_settings())
    if not s.db_host:
        raise ConfigError("DB_HOST is not set: in aws mode run notebook 04 first; "
                          "in byo mode export DB_HOST, DB_USER, DB_PASS and DB_NAME")
    opts = dict(host=s.db_host, port=s.db_port, user=s.db_user, password=s.db_pass or "",
                database=s.db_name, connect_timeout=DB_CONNECT_TIMEOUT, read_timeout=30, write_timeout=30,
                charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor, autocommit=True)
    opts.update(kwargs)
    # PyMySQL waits for the server's greeting under read_timeout: a port where something else
    # listens (the cache's, say) would hold the cell for 30 s. Greet under connect_timeout instead.
    read_timeout = opts["read_timeout"]
    opts["read_timeout"] = min(read_timeout or opts["connect_timeout"], opts["connect_timeout"])
    try:
        conn = pymysql.connect(**opts)
    except pymysql.MySQLError as e:
        raise LabConnectionError(f"cannot use the database at {s.db_host}:{s.db_port}", e, service="db") from e
    conn._read_timeout = read_timeout  # PyMySQL has no public setter; it applies it to the next read
    return conn

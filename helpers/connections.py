"""Connection factories: the cache (standalone, TLS, AUTH, cluster) and the database.

Short timeouts and no hidden retries, so a wrong endpoint fails within 5 s with advice
instead of hanging a notebook cell.
"""
from __future__ import annotations

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
    With check=True it PINGs once and raises LabConnectionError with the fix on failure.
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
        if use_cluster:
            opts.pop("retry", None)
            client = RedisCluster.from_url(url, **opts)
        else:
            client = redis.Redis.from_url(url, **opts)
        if check:
            client.ping()
    except (redis.RedisError, OSError) as e:
        raise LabConnectionError(f"cannot use the cache at {redact(url)}", e) from e
    return client


def db_connection(settings: Settings | None = None, **kwargs) -> pymysql.connections.Connection:
    """A PyMySQL connection with dict rows (as the tutorial prints them) and autocommit."""
    s = settings or load_settings()
    if not s.db_host:
        raise ConfigError("DB_HOST is not set: in aws mode run notebook 04 first; "
                          "in byo mode export DB_HOST, DB_USER, DB_PASS and DB_NAME")
    opts = dict(host=s.db_host, port=s.db_port, user=s.db_user, password=s.db_pass or "",
                database=s.db_name, connect_timeout=5, read_timeout=30, write_timeout=30,
                charset="utf8mb4", cursorclass=pymysql.cursors.DictCursor, autocommit=True)
    opts.update(kwargs)
    try:
        return pymysql.connect(**opts)
    except pymysql.MySQLError as e:
        raise LabConnectionError(f"cannot use the database at {s.db_host}:{s.db_port}", e) from e

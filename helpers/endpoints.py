"""From the endpoint ElastiCache reports to the URL a client connects to.

On AWS the URL is the primary endpoint itself. In local mode the emulator reports a made-up
`*.cache.amazonaws.com` name that nothing answers on, so it is mapped to the lab's own
Valkey (REDIS_URL in lab.env): the notebooks then connect to a real server either way.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from helpers.config import ConfigError, Settings

EMULATED_SUFFIX = ".cache.amazonaws.com"


def endpoint_url(address: str, port: int = 6379, tls: bool = False, db: int = 0) -> str:
    """redis://host:port/db, or rediss:// when the cache has in-transit encryption."""
    return f"{'rediss' if tls else 'redis'}://{address}:{int(port)}/{db}"


def connect_url(settings: Settings, address: str, port: int = 6379, tls: bool = False) -> str:
    """The URL to connect to for the endpoint the control plane reported."""
    if settings.mode == "byo":
        raise ConfigError("byo mode provisions no cache: the URL is REDIS_URL from your instructor")
    if settings.mode == "local":
        if not address.endswith(EMULATED_SUFFIX):
            raise ConfigError(f"{address!r} is not an emulated ElastiCache endpoint: local mode maps "
                              f"only names ending in {EMULATED_SUFFIX}")
        if not settings.redis_url or urlsplit(settings.redis_url).hostname not in ("127.0.0.1", "localhost"):
            raise ConfigError("the local lab's REDIS_URL is missing or not on loopback: run `make up`")
        return settings.redis_url
    return endpoint_url(address, port, tls)

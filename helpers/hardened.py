"""Where the lab's hardened Valkey is: TLS on a self-signed certificate plus an AUTH token,
the local stand-in for an ElastiCache cache with in-transit encryption (notebook 02).
"""
from __future__ import annotations

import os

from helpers.config import lab_dir, read_env_file


def lab_tls_endpoint() -> tuple[str, str | None]:
    """(REDIS_TLS_URL, REDIS_TLS_CA). The URL holds the token: print it only through redact().

    The environment wins (local mode's setup() exports lab.env; in byo mode an instructor may
    hand out a TLS endpoint, whose certificate the system trusts: no REDIS_TLS_CA). Otherwise
    the local lab's, started if it is down: in any mode it runs on loopback and costs nothing.
    """
    url = os.environ.get("REDIS_TLS_URL")
    if url:
        return url, os.environ.get("REDIS_TLS_CA") or None
    from helpers.lab import ensure_running

    ensure_running(echo=lambda line: None)
    env = read_env_file(lab_dir() / "lab.env")
    return env["REDIS_TLS_URL"], env["REDIS_TLS_CA"]

"""Turn connection failures into the seed's "Common Errors & Quick Fix" advice.

explain() maps an exception to a one-line cause and fix; the connection factories and
`python -m helpers.diagnose` both use it, so a learner sees the same advice everywhere.
"""
from __future__ import annotations

import socket
import ssl

from helpers.config import NAMES

FIXES = {
    "dns": "the endpoint name does not resolve: copy the Primary/Configuration endpoint again "
           "from the ElastiCache console, and check you are in the right region",
    "timeout": f"connection timeout: wrong security group or region. Check that {NAMES.cache_sg} "
               f"allows 6379 from {NAMES.client_sg}, and that the client and the cache share a "
               "region and VPC (seed: Common Errors, row 1)",
    "refused": "connection refused: nothing listens on that host and port. Check the port; "
               "in local mode run `make up`",
    "tls_required": "the server requires TLS (in-transit encryption is on): use rediss:// "
                    "in the URL, or valkey-cli --tls",
    "tls_unexpected": "the server does not speak TLS: use redis:// (no --tls), or enable "
                      "in-transit encryption on the cache",
    "tls_cert": "the server's TLS certificate is not trusted: for a self-signed lab server pass "
                "its CA (?ssl_ca_certs=ca.pem, valkey-cli --cacert ca.pem); ElastiCache's certificate "
                "is trusted by the system store",
    "auth_required": "the server requires AUTH: put the token in the URL "
                     "(rediss://:TOKEN@host:6379 or rediss://USER:PASS@host:6379)",
    "auth_wrong": "AUTH failed: wrong password or user. Check the AUTH token or the RBAC user",
    "auth_unneeded": "the server has no password set: drop the password from the URL",
    "cluster": "the endpoint is cluster-mode (MOVED): use a cluster client "
               "(redis.cluster.RedisCluster, valkey-cli -c)",
    "not_redis": "something answers on that port, but not Valkey/Redis: check the port in REDIS_URL "
                 "(6379 on ElastiCache; the lab's own is in lab.env), not the database's DB_PORT",
    "oom": "the cache is full (maxmemory) and may evict nothing: under ElastiCache's default policy "
           "volatile-lru only keys with a TTL are evicted, so give every key a TTL (SET ... EX), or pick "
           "allkeys-lru in a custom parameter group",
    "readonly": "this endpoint is a read replica: write through the primary endpoint (the reader "
                "endpoint is for reads only)",
    "noperm": "the RBAC user may not run this command on this key: widen its access string "
              "(e.g. ~planet:* ~query:* +@read +@write) or connect as a user that may",
    "db_auth": "database login refused: check DB_USER and DB_PASS",
    "db_dns": "the database host name does not resolve: copy the endpoint again into DB_HOST "
              "(RDS console > Databases > lab-mysql, or the one notebook 04 recorded), and check the region",
    "db_timeout": f"connection timeout: check that {NAMES.db_sg} allows 3306 from {NAMES.client_sg}, and that "
                  "the client runs in the database's region and VPC (the database has no public address)",
    "db_not_mysql": "something answers on that port, but not MySQL: check DB_PORT (3306 on RDS; the lab's "
                    "own is in lab.env), not the cache's port",
    "db_unknown": "the database does not exist: check DB_NAME (the tutorial uses `tutorial`)",
    "db_table": "the table is missing: load the seed (local: `make up`; RDS: notebook 04)",
}


def classify(exc: BaseException) -> str | None:
    """The FIXES key for an exception from socket, ssl, redis-py or PyMySQL, if one fits."""
    text = f"{type(exc).__name__}: {exc}".lower()
    chain = [exc]
    while chain[-1].__cause__ or chain[-1].__context__:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
        if len(chain) > 5:
            break
    kinds = tuple(type(e) for e in chain)
    if any(issubclass(k, socket.gaierror) for k in kinds) or "name or service not known" in text \
            or "nodename nor servname" in text or "temporary failure in name resolution" in text:
        return "dns"
    if "moved" in text and "cluster" not in text:
        return "cluster"
    if "oom command not allowed" in text or "outofmemoryerror" in text:
        return "oom"
    if "readonly" in text and "replica" in text:
        return "readonly"
    if "noperm" in text:
        return "noperm"
    if "noauth" in text or "authentication required" in text \
            or "must be called with the client already authenticated" in text:  # redis-py's HELLO 3
        return "auth_required"
    if "without any password configured" in text or "no password is set" in text:
        return "auth_unneeded"
    if "wrongpass" in text or "invalid username-password" in text or "invalid password" in text:
        return "auth_wrong"
    if "(1045" in text or "access denied for user" in text:
        return "db_auth"
    if "(1049" in text or "unknown database" in text:
        return "db_unknown"
    if "(1146" in text or ("table" in text and "doesn't exist" in text):
        return "db_table"
    if "certificate verify failed" in text:
        return "tls_cert"
    if "wrong version number" in text or "record layer failure" in text or "packet length too long" in text \
            or any(issubclass(k, ssl.SSLError) for k in kinds):
        return "tls_unexpected"
    if "connection reset" in text or "closed by server" in text or "connection closed" in text \
            or "unexpected eof" in text:
        return "tls_required"
    if "refused" in text or "(2003" in text and "111" in text:
        return "refused"
    if "protocol error" in text or "invalidresponse" in text:  # e.g. a MySQL greeting read as RESP
        return "not_redis"
    if "timed out" in text or "timeout" in text or any(issubclass(k, TimeoutError) for k in kinds):
        return "timeout"
    return None


def classify_db(exc: BaseException) -> str | None:
    """classify() for a database connection: the same causes, with the database's fixes."""
    key = classify(exc)
    if key == "dns":
        return "db_dns"
    if key == "timeout":
        # 2003: the TCP connect timed out (a security group); 2013: connected, but no MySQL greeting.
        return "db_not_mysql" if "(2013" in str(exc) else "db_timeout"
    if key in ("not_redis", "tls_required", "tls_unexpected"):
        return "db_not_mysql"
    return key


def explain(exc: BaseException, service: str = "cache") -> str:
    key = classify_db(exc) if service == "db" else classify(exc)
    return FIXES[key] if key else f"{type(exc).__name__}: {exc}"


class LabConnectionError(ConnectionError):
    """A connection failed; str() gives what happened and what to check.
    service="db" gives the database's advice (its security group, DB_HOST, DB_PORT)."""

    def __init__(self, what: str, exc: BaseException, service: str = "cache"):
        self.kind = classify_db(exc) if service == "db" else classify(exc)
        self.original = exc
        super().__init__(f"{what}: {explain(exc, service)}")

"""The tutorial's two caching patterns, made safe to reuse (notebooks 05 and 06 teach them first).

    QueryCache   pattern 1: a query's result set, serialized as JSON under a hashed key, with a TTL
    RecordCache  pattern 2: one row as a hash `planet:<id>`, written with its TTL in one MULTI;
                 plus write-through (`save`) and invalidate-on-write (`update`)
    CacheStats   hit / miss / error counters, shared by both if you pass the same object

Choices that the notebooks explain, and the later notebooks and tests rely on:
- FAIL OPEN: if the cache is unreachable (ConnectionError / TimeoutError) the database answers
  instead; a CacheUnavailableWarning is issued once per outage and `stats.cache_errors` counts
  every failed call. For `retry_after` seconds after a failure the cache is not asked again (so a
  dead endpoint does not cost a timeout per call); then it is, and repopulates on the next misses.
- NO STALE DATA AFTER AN OUTAGE: a key whose write or delete failed may still hold an old value
  when the cache comes back with its data (a failover, a reboot that kept a snapshot). Such keys
  are deleted first, before the cache is trusted again.
- A cache that answers but cannot be used as configured (a cluster-mode endpoint with a plain
  client: MOVED; a read replica: READONLY; an RBAC user without the right: NOPERM) raises
  CacheMisconfigured, which names the fix. A full cache (OOM) only skips the write, with a warning.
- A database failure raises DatabaseUnavailable (it names the fix); cached hits never touch the
  database, so they are still served. A missing table raises MissingTable, which names the fix.
- Data under a key that this code did not write (not JSON, not UTF-8, wrong type, other fields)
  is a miss and is overwritten.
- SIZE LIMITS: a result (pattern 1) or row (pattern 2) whose JSON is over `max_bytes` (1 MB by
  default; ElastiCache works best with values well under that) is returned but not cached, with
  a warning and `stats.not_cached`. Keys are bounded: query keys are hashed, and a key over
  MAX_KEY_BYTES is refused before anything is asked.
- A hit and a miss return equal values of the same types: a miss returns what the cache will
  return, because it is decoded from the very text it stores.
- Only parameterised SQL: values travel as `%s` parameters, never inside the SQL text.
- Hash fields hold strings only, so each column value is stored JSON-encoded:
  10 -> "10", 'Mercury' -> '"Mercury"', NULL -> "null", 'Ñandú' -> '"Ñandú"' (UTF-8).
- The clients must decode replies to str (`decode_responses=True`, as helpers.connections does).
"""
from __future__ import annotations

import contextlib
import datetime
import decimal
import hashlib
import json
import numbers
import re
import sys
import time
import warnings
from dataclasses import dataclass

import pymysql
import redis

from helpers.errors import FIXES, LabConnectionError, classify, explain

CACHE_DOWN = (redis.ConnectionError, redis.TimeoutError)
# Replies that mean "this client cannot use this endpoint as configured", not "a miss".
# (redis-py gives each its own class, and drops the MOVED/READONLY/... prefix from the text.)
MISCONFIGURED = (redis.exceptions.AskError, redis.exceptions.ClusterDownError,  # AskError: MOVED too
                 redis.exceptions.ClusterCrossSlotError, redis.exceptions.ReadOnlyError,
                 redis.exceptions.NoPermissionError)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MISSING_FIELD = "__missing__"  # the only field of a negative-cache hash: "this id has no row"
KEY_MEMO_SIZE = 1024
MAX_KEY_BYTES = 1024     # Valkey allows 512 MB, but a key this long is a bug: hash it (query_key)
MAX_VALUE_BYTES = 1_000_000


class CacheUnavailableWarning(RuntimeWarning):
    """The cache did not answer (or refused a write); the database served the request instead."""


class NotCachedWarning(RuntimeWarning):
    """A value was over max_bytes: returned, but not stored."""


class DatabaseUnavailable(LabConnectionError):
    """The database did not answer (after one reconnect); the message names the fix."""


class CacheMisconfigured(LabConnectionError):
    """The cache answered, but this client cannot use it as configured; the message names the fix."""


class MissingTable(pymysql.err.ProgrammingError):
    """MySQL error 1146 with the fix added (load the seed); still a ProgrammingError."""


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    cache_errors: int = 0
    db_queries: int = 0
    not_cached: int = 0  # results larger than max_bytes, served but not stored

    @property
    def hit_ratio(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0

    def reset(self) -> None:
        self.hits = self.misses = self.cache_errors = self.db_queries = self.not_cached = 0

    def __str__(self) -> str:
        return (f"hits={self.hits} misses={self.misses} hit_ratio={self.hit_ratio:.2f} "
                f"cache_errors={self.cache_errors} db_queries={self.db_queries}")


def _json_default(value):
    """Column types JSON lacks, as exact strings (a miss decodes them the same way as a hit)."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    raise TypeError(f"cannot cache a {type(value).__name__} column value: "
                    "convert it in the SQL (e.g. CAST(col AS CHAR) or HEX(col))")


def to_json(value) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def query_key(sql: str, params: tuple = (), prefix: str = "query") -> str:
    """A bounded key for any SQL text and parameters: a readable prefix plus a SHA-256 digest.

    The raw SQL as key (the tutorial's way) can be kilobytes long and differs by whitespace;
    the digest is always 32 hex characters, and `SCAN MATCH query:*` still finds them all.
    """
    digest = hashlib.sha256(to_json([sql, list(params)]).encode()).hexdigest()[:32]
    return f"{prefix}:{digest}"


def record_key(table: str, id) -> str:
    """The tutorial's key convention for one row: `<table>:<id>`, e.g. planet:10."""
    return f"{table}:{id}"


def _identifier(name: str) -> str:
    """A table or column name, back-quoted; anything else is refused (names cannot be %s params)."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f"`{name}`"


def _connection_lost(exc: Exception) -> bool:
    """PyMySQL's ways of saying the server is gone: closed (InterfaceError), 2003 cannot connect,
    2006 gone away, 2013 / 2055 lost during a query."""
    return isinstance(exc, pymysql.err.InterfaceError) or bool(exc.args and exc.args[0] in (2003, 2006, 2013, 2055))


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside this module, so a warning points at the
    learner's line (and shows again for a new cell, not once per process)."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        level, frame = level + 1, frame.f_back
    return level


def _refuse_misconfigured(exc: redis.ResponseError) -> None:
    """Raise CacheMisconfigured for replies no retry or fallback can fix (MOVED, READONLY, ...)."""
    if isinstance(exc, MISCONFIGURED):
        raise CacheMisconfigured("the cache answered, but not as this client expects", exc) from exc


def _check_key(key: str) -> str:
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"a cache key of {len(key.encode())} bytes is over MAX_KEY_BYTES={MAX_KEY_BYTES}: "
                         "hash long keys (see query_key)")
    return key


def _require_str_replies(cache) -> None:
    try:
        decodes = cache.get_encoder().decode_responses
    except AttributeError:
        return  # some other client: trust the caller
    if not decodes:
        raise ValueError("the cache client must decode replies to str: "
                         "redis.Redis.from_url(url, decode_responses=True) or helpers.connections.cache_client()")


class _CacheAside:
    """What both patterns share: fail-open bookkeeping and database access with one reconnect."""

    def __init__(self, cache, db, *, ttl: int, stats: CacheStats | None, retry_after: float, max_bytes: int):
        _require_str_replies(cache)
        self.cache, self.db, self.ttl = cache, db, ttl
        self.stats = stats if stats is not None else CacheStats()
        self.retry_after, self.max_bytes = retry_after, max_bytes
        self._down = False       # True from a failed cache call until one succeeds
        self._retry_at = 0.0     # monotonic time after which the cache is asked again
        self._unsure: set[str] = set()  # keys whose write or delete failed: maybe stale
        self._warned: set[str] = set()  # refused-write kinds already warned about

    # -- the cache
    def _cache_usable(self) -> bool:
        """Whether to ask the cache now. After an outage, first delete the keys it may hold
        stale copies of (their write or delete failed while it was away)."""
        if self._down and time.monotonic() < self._retry_at:
            return False
        if self._unsure:
            try:
                self.cache.delete(*self._unsure)
            except CACHE_DOWN as exc:
                self._cache_failed(exc)
                return False
            self._unsure.clear()
        return True

    def _cache_failed(self, exc: Exception) -> None:
        self.stats.cache_errors += 1
        self._retry_at = time.monotonic() + self.retry_after
        if not self._down:
            self._down = True
            warnings.warn(f"the cache is unavailable ({type(exc).__name__}: {exc}); serving from the "
                          "database until it answers again", CacheUnavailableWarning,
                          stacklevel=_caller_stacklevel())

    def _cache_write(self, key: str, write) -> bool:
        """Run a cache write of `key` (a callable); a failure is counted and swallowed (fail open),
        and the key is remembered as maybe stale."""
        if not self._cache_usable():
            self._unsure.add(key)
            return False
        try:
            write()
        except CACHE_DOWN as exc:
            self._cache_failed(exc)
            self._unsure.add(key)
            return False
        except redis.ResponseError as exc:
            _refuse_misconfigured(exc)
            self._write_refused(exc)  # e.g. OOM: the cache is full; the old value, if any, expires
            return False
        self._down = False
        return True

    def _write_refused(self, exc: redis.ResponseError) -> None:
        self.stats.cache_errors += 1
        kind = classify(exc) or type(exc).__name__
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(f"not cached: the cache refused the write ({exc}): {explain(exc)}",
                          CacheUnavailableWarning, stacklevel=_caller_stacklevel())

    def _too_big(self, key: str, size: int) -> bool:
        """True (with a warning) if a value of `size` bytes is over max_bytes: it is not stored."""
        if size <= self.max_bytes:
            return False
        self.stats.not_cached += 1
        warnings.warn(f"not cached: {key} would hold {size} bytes, over max_bytes={self.max_bytes}; "
                      "the database's answer is returned as is (select fewer rows or columns, "
                      "or raise max_bytes)", NotCachedWarning, stacklevel=_caller_stacklevel())
        return True

    # -- the database
    def _db_rows(self, sql: str, params: tuple) -> list[dict]:
        """Rows as dicts; one reconnect if the connection was lost (e.g. the server restarted)."""
        for attempt in (1, 2):
            try:
                if attempt == 2:  # the old socket is dead: open a new one with the same settings
                    with contextlib.suppress(pymysql.err.Error):
                        self.db.close()
                    self.db.connect()
                with self.db.cursor(pymysql.cursors.DictCursor) as cur:
                    cur.execute(sql, params or None)  # None: a literal % in the SQL stays as is
                    rows = cur.fetchall()
                self.stats.db_queries += 1
                return list(rows)
            except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
                if not _connection_lost(exc):
                    raise  # an SQL mistake, not an outage: MySQL's own message says what
                if attempt == 2:
                    raise DatabaseUnavailable("the database did not answer", exc, service="db") from exc
            except pymysql.err.ProgrammingError as exc:
                if exc.args and exc.args[0] == 1146:
                    raise MissingTable(1146, f"{exc.args[1]}: {FIXES['db_table']}") from exc
                raise


class QueryCache(_CacheAside):
    """Pattern 1: cache a query's whole result set under a key derived from the SQL and params.

        qc = QueryCache(cache_client(), db_connection(), ttl=60)
        qc.fetch("SELECT * FROM planet")                  # miss: database, then SET ... EX 60
        qc.fetch("SELECT * FROM planet WHERE id=%s", (12,))
    """

    def __init__(self, cache, db, *, ttl: int = 60, prefix: str = "query", stats: CacheStats | None = None,
                 retry_after: float = 1.0, max_bytes: int = MAX_VALUE_BYTES):
        super().__init__(cache, db, ttl=ttl, stats=stats, retry_after=retry_after, max_bytes=max_bytes)
        _check_key(prefix)
        self.prefix = prefix
        self._keys: dict = {}

    def key(self, sql: str, params=()) -> str:
        params = tuple(params)
        try:
            return self._keys[sql, params]
        except KeyError:
            pass
        except TypeError:  # an unhashable parameter: compute every time
            return query_key(sql, params, self.prefix)
        if len(self._keys) >= KEY_MEMO_SIZE:
            self._keys.clear()
        key = self._keys[sql, params] = query_key(sql, params, self.prefix)
        return key

    def fetch(self, sql: str, params=()) -> list[dict]:
        """The result rows, from the cache if present, else from the database (then cached)."""
        # The hit path stays lean: one GET, one json.loads, one counter (issue 5 measures it).
        try:
            key = self._keys[sql, params]
        except (KeyError, TypeError):
            key = self.key(sql, params)
        if not self._down or self._cache_usable():
            try:
                raw = self.cache.get(key)
            except CACHE_DOWN as exc:
                self._cache_failed(exc)
            except redis.ResponseError as exc:
                _refuse_misconfigured(exc)  # else another type under this key (WRONGTYPE): a miss
            except UnicodeDecodeError:
                pass  # bytes that are not UTF-8: not ours, a miss, overwritten below
            else:
                self._down = False
                if raw is not None:
                    try:
                        value = json.loads(raw)
                    except ValueError:
                        pass  # not ours: a miss, overwritten below
                    else:
                        # Ours is a list of row dicts; other JSON (a number, an object) is foreign.
                        if type(value) is list and (not value or type(value[0]) is dict):
                            self.stats.hits += 1
                            return value
        self.stats.misses += 1
        text = to_json(self._db_rows(sql, tuple(params)))
        if not self._too_big(key, len(text.encode())):
            self._cache_write(key, lambda: self.cache.set(key, text, ex=self.ttl))
        return json.loads(text)

    def invalidate(self, sql: str, params=()) -> bool:
        """Delete the cached result now (instead of waiting for the TTL). False if the cache is down
        (then it is deleted as soon as the cache answers again)."""
        key = self.key(sql, params)
        return self._cache_write(key, lambda: self.cache.delete(key))


class RecordCache(_CacheAside):
    """Pattern 2: one row as a hash, key `<table>:<id>`, written together with its TTL in a MULTI.

        planets = RecordCache(cache_client(), db_connection(), table="planet", columns=("id", "name"))
        planets.get(12)                              # {'id': 12, 'name': 'Earth'}
        planets.save({"id": 12, "name": "Earth"})   # write-through: database, then cache
        planets.update({"id": 12, "name": "Earth"}) # invalidate-on-write: database, then DEL
    """

    def __init__(self, cache, db, *, table: str = "planet", columns=("id", "name"), id_column: str = "id",
                 ttl: int = 300, negative_ttl: int = 10, id_type=int, stats: CacheStats | None = None,
                 retry_after: float = 1.0, max_bytes: int = MAX_VALUE_BYTES):
        super().__init__(cache, db, ttl=ttl, stats=stats, retry_after=retry_after, max_bytes=max_bytes)
        if id_column not in columns:
            raise ValueError(f"id_column {id_column!r} must be one of the columns {columns}")
        self.table, self.columns, self.id_column = table, tuple(columns), id_column
        self.negative_ttl, self.id_type = negative_ttl, id_type
        self._fields = frozenset(self.columns)
        cols = ", ".join(_identifier(c) for c in self.columns)
        self._select = f"SELECT {cols} FROM {_identifier(table)} WHERE {_identifier(id_column)}=%s"

    def _id(self, id):
        """The id as id_type; refused (ValueError) if converting would change it: 12.7 is not
        planet 12, True is not planet 1, and '10 OR 1=1' is not an id at all."""
        try:
            converted = self.id_type(id)
        except (TypeError, ValueError):
            converted = None
        changed = isinstance(converted, numbers.Number) and not isinstance(id, (str, bytes)) and converted != id
        if converted is None or isinstance(id, bool) or changed:
            shown = repr(id) if len(repr(id)) <= 60 else repr(id)[:57] + "..."
            raise ValueError(f"{self.table} id must be {self.id_type.__name__}, not {shown}") from None
        return converted

    def key(self, id) -> str:
        return _check_key(record_key(self.table, self._id(id)))

    def get(self, id) -> dict | None:
        """The row as a dict, or None if there is no such id (remembered for negative_ttl seconds)."""
        id = self._id(id)
        key = _check_key(record_key(self.table, id))
        if self._cache_usable():
            try:
                fields = self.cache.hgetall(key)
            except CACHE_DOWN as exc:
                self._cache_failed(exc)
            except redis.ResponseError as exc:
                _refuse_misconfigured(exc)  # else another type under this key: a miss, overwritten below
            except UnicodeDecodeError:
                pass  # bytes that are not UTF-8: not ours, a miss, overwritten below
            else:
                self._down = False
                if fields.keys() == self._fields:
                    try:
                        row = {name: json.loads(value) for name, value in fields.items()}
                    except ValueError:
                        pass  # not ours: a miss, overwritten below
                    else:
                        self.stats.hits += 1
                        return row
                elif MISSING_FIELD in fields and len(fields) == 1:
                    self.stats.hits += 1
                    return None
        self.stats.misses += 1
        return self._load(id, key)

    def _load(self, id, key: str) -> dict | None:
        rows = self._db_rows(self._select, (id,))
        row = json.loads(to_json(rows[0])) if rows else None
        self._store(key, row)
        return row

    def _store(self, key: str, row: dict | None) -> None:
        """Replace the hash and set its TTL in one MULTI/EXEC: never a hash without a TTL."""
        if row is None:
            if not self.negative_ttl:
                return
            mapping, ttl = {MISSING_FIELD: "1"}, self.negative_ttl
        else:
            mapping, ttl = {name: to_json(value) for name, value in row.items()}, self.ttl
            if self._too_big(key, sum(len(f.encode()) + len(v.encode()) for f, v in mapping.items())):
                self._cache_write(key, lambda: self.cache.delete(key))  # no older copy may stay
                return

        def write():
            with self.cache.pipeline(transaction=True) as tx:
                tx.delete(key)  # drops fields that are no longer columns, or a foreign value
                tx.hset(key, mapping=mapping)
                tx.expire(key, ttl)
                tx.execute()

        self._cache_write(key, write)

    def _write_db(self, record: dict) -> object:
        id = self._id(record[self.id_column])
        cols = [c for c in self.columns if c in record]
        unknown = set(record) - set(self.columns)
        if unknown:
            raise ValueError(f"not columns of {self.table}: {', '.join(sorted(unknown))}")
        names = ", ".join(_identifier(c) for c in cols)
        marks = ", ".join(["%s"] * len(cols))
        updates = ", ".join(f"{_identifier(c)}=VALUES({_identifier(c)})" for c in cols if c != self.id_column)
        sql = f"INSERT INTO {_identifier(self.table)} ({names}) VALUES ({marks})"
        if updates:
            sql += f" ON DUPLICATE KEY UPDATE {updates}"
        values = tuple(id if c == self.id_column else record[c] for c in cols)
        self._db_rows(sql, values)
        self.db.commit()  # no-op under autocommit; needed otherwise
        return id

    def save(self, record: dict) -> dict | None:
        """Write-through: write the row to the database, then put what the database now holds in
        the cache (read back, so defaults and conversions are the database's). Returns that row."""
        id = self._write_db(record)
        return self._load(id, record_key(self.table, id))

    def update(self, record: dict) -> bool:
        """Invalidate-on-write: write the row to the database, then delete its cached copy; the
        next get() reads the new row. Returns whether the cache could be told."""
        id = self._write_db(record)
        return self.invalidate(id)

    def invalidate(self, id) -> bool:
        """Delete the cached row now. False if the cache is down (then it is deleted as soon as
        the cache answers again)."""
        key = self.key(id)
        return self._cache_write(key, lambda: self.cache.delete(key))

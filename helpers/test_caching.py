"""helpers.caching against the lab's real Valkey and MariaDB (a scratch table, made and dropped here)."""
import datetime
import decimal
import shutil
import socket
import subprocess
import time
import uuid
import warnings

import pymysql
import pytest
import redis

from helpers.caching import (CacheStats, CacheUnavailableWarning, DatabaseUnavailable, NotCachedWarning,
                             QueryCache, RecordCache, query_key, record_key)
from helpers.connections import cache_client, db_connection
from helpers.seed import PLANETS

COLUMNS = ("id", "name", "note", "price", "born")
ROWS = [
    (1, "Mercury", None, None, None),                                      # NULLs
    (2, "Ñandú", "Grüße, 東京 🌍", decimal.Decimal("12.50"), datetime.date(2024, 2, 29)),  # non-ASCII
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cache(lab_settings):
    return cache_client(lab_settings.redis_url)


@pytest.fixture
def db(lab_settings):
    conn = db_connection(lab_settings)
    yield conn
    conn.close()


@pytest.fixture
def scratch(db, cache):
    """A table of our own with NULL and non-ASCII values; dropped, and its keys deleted, after."""
    table = f"test_caching_{uuid.uuid4().hex[:8]}"
    with db.cursor() as cur:
        cur.execute(f"CREATE TABLE `{table}` (id INT UNSIGNED PRIMARY KEY, name VARCHAR(30) NULL, "
                    "note TEXT NULL, price DECIMAL(8,2) NULL, born DATE NULL) CHARACTER SET utf8mb4")
        cur.executemany(f"INSERT INTO `{table}` VALUES (%s, %s, %s, %s, %s)", ROWS)
    yield table
    with db.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{table}`")
    for key in cache.scan_iter(f"{table}:*"):
        cache.delete(key)


@pytest.fixture
def prefix(cache):
    """A key prefix of this test's own, so tests never read each other's cached results."""
    name = f"test-query-{uuid.uuid4().hex[:8]}"
    yield name
    for key in cache.scan_iter(f"{name}:*"):
        cache.delete(key)


def records(cache, db, table, **kwargs):
    return RecordCache(cache, db, table=table, columns=COLUMNS, **kwargs)


def commands(cache, name):
    stats = cache.info("commandstats")
    return stats.get(f"cmdstat_{name}", {}).get("calls", 0)


# -- pattern 1: query cache

def test_query_miss_then_hit_returns_the_tutorials_planets(cache, db, prefix):
    qc = QueryCache(cache, db, ttl=30, prefix=prefix)
    miss = qc.fetch("SELECT * FROM planet WHERE id BETWEEN 10 AND 17 ORDER BY id")
    hit = qc.fetch("SELECT * FROM planet WHERE id BETWEEN 10 AND 17 ORDER BY id")
    assert miss == hit == [{"id": i, "name": n} for i, n in PLANETS.items()]
    assert (qc.stats.hits, qc.stats.misses, qc.stats.db_queries) == (1, 1, 1)
    assert qc.stats.hit_ratio == 0.5
    key = qc.key("SELECT * FROM planet WHERE id BETWEEN 10 AND 17 ORDER BY id")
    assert 0 < cache.ttl(key) <= 30


@pytest.mark.badinput
def test_query_null_non_ascii_decimal_and_date_are_the_same_on_hit_and_miss(cache, db, scratch, prefix):
    qc = QueryCache(cache, db, prefix=prefix)
    sql = f"SELECT * FROM `{scratch}` ORDER BY id"
    miss, hit = qc.fetch(sql), qc.fetch(sql)
    assert miss == hit
    assert [type(v) for v in miss[1].values()] == [type(v) for v in hit[1].values()]
    assert miss[0] == {"id": 1, "name": "Mercury", "note": None, "price": None, "born": None}
    assert miss[1] == {"id": 2, "name": "Ñandú", "note": "Grüße, 東京 🌍", "price": "12.50", "born": "2024-02-29"}
    assert "Ñandú" in cache.get(qc.key(sql))  # stored as UTF-8 text, not \\u escapes


def test_query_expires_after_its_ttl(cache, db, scratch, prefix):
    qc = QueryCache(cache, db, ttl=1, prefix=prefix)
    sql = f"SELECT name FROM `{scratch}` WHERE id = %s"
    assert qc.fetch(sql, (1,)) == [{"name": "Mercury"}]
    with db.cursor() as cur:
        cur.execute(f"UPDATE `{scratch}` SET name = 'Hermes' WHERE id = 1")
    assert qc.fetch(sql, (1,)) == [{"name": "Mercury"}]  # stale until the TTL runs out
    time.sleep(1.1)
    assert qc.fetch(sql, (1,)) == [{"name": "Hermes"}]
    assert (qc.stats.hits, qc.stats.misses) == (1, 2)


def test_query_invalidate_clears_the_stale_answer(cache, db, scratch, prefix):
    qc = QueryCache(cache, db, ttl=60, prefix=prefix)
    sql = f"SELECT name FROM `{scratch}` WHERE id = %s"
    qc.fetch(sql, (1,))
    with db.cursor() as cur:
        cur.execute(f"UPDATE `{scratch}` SET name = 'Hermes' WHERE id = 1")
    assert qc.invalidate(sql, (1,)) is True
    assert qc.fetch(sql, (1,)) == [{"name": "Hermes"}]


def test_query_keys_are_bounded_readable_and_differ_by_params(prefix, cache, db):
    long_sql = "SELECT * FROM planet WHERE " + " OR ".join(f"id = {i}" for i in range(2000))
    key = query_key(long_sql)
    assert key.startswith("query:") and len(key) == len("query:") + 32
    assert query_key("SELECT 1", (1,)) != query_key("SELECT 1", (2,))
    qc = QueryCache(cache, db, prefix=prefix)
    assert qc.key("SELECT %s", [1]) == qc.key("SELECT %s", (1,)) == query_key("SELECT %s", (1,), prefix)


@pytest.mark.badinput
def test_query_params_cannot_inject_sql(cache, db, scratch, prefix):
    qc = QueryCache(cache, db, prefix=prefix)
    hostile = "x' OR '1'='1"
    assert qc.fetch(f"SELECT * FROM `{scratch}` WHERE name = %s", (hostile,)) == []
    assert qc.fetch(f"SELECT * FROM `{scratch}` WHERE name = %s", ("Mercury'; DROP TABLE planet; --",)) == []
    with db.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM planet")
        assert cur.fetchone()["n"] >= 8


@pytest.mark.badinput
def test_query_sql_with_a_literal_percent_and_no_params(cache, db, prefix):
    qc = QueryCache(cache, db, prefix=prefix)
    rows = qc.fetch("SELECT name FROM planet WHERE name LIKE 'M%' ORDER BY id")
    assert rows == [{"name": "Mercury"}, {"name": "Mars"}]


@pytest.mark.badinput
@pytest.mark.parametrize("foreign", ["not json", "\x80\x81 binary-ish", "hash"])
def test_query_foreign_data_under_the_key_is_a_miss_and_is_overwritten(cache, db, prefix, foreign):
    qc = QueryCache(cache, db, prefix=prefix)
    sql = "SELECT name FROM planet WHERE id = 12"
    key = qc.key(sql)
    if foreign == "hash":
        cache.hset(key, mapping={"a": "b"})
    else:
        cache.set(key, foreign)
    assert qc.fetch(sql) == [{"name": "Earth"}]
    assert qc.stats.misses == 1
    assert cache.get(key) == '[{"name":"Earth"}]'


@pytest.mark.badinput
def test_query_result_larger_than_max_bytes_is_served_not_stored(cache, db, prefix):
    qc = QueryCache(cache, db, prefix=prefix, max_bytes=50)
    sql = "SELECT * FROM planet WHERE id BETWEEN 10 AND 17"
    with pytest.warns(NotCachedWarning, match="over max_bytes=50"):
        assert len(qc.fetch(sql)) == 8
    assert cache.exists(qc.key(sql)) == 0 and qc.stats.not_cached == 1


# -- pattern 2: record as a hash

def test_record_miss_writes_hash_and_ttl_in_one_multi(cache, db, scratch):
    rc = records(cache, db, scratch, ttl=120)
    multis, execs = commands(cache, "multi"), commands(cache, "exec")
    row = rc.get(1)
    key = record_key(scratch, 1)
    assert cache.type(key) == "hash"
    assert 0 < cache.ttl(key) <= 120  # the TTL is there right after the write, never a hash without one
    assert commands(cache, "multi") == multis + 1 and commands(cache, "exec") == execs + 1
    assert row == {"id": 1, "name": "Mercury", "note": None, "price": None, "born": None}


@pytest.mark.badinput
def test_record_null_and_non_ascii_round_trip_identically(cache, db, scratch):
    rc = records(cache, db, scratch)
    for id in (1, 2):
        miss, hit = rc.get(id), rc.get(id)
        assert miss == hit
        assert [type(v) for v in miss.values()] == [type(v) for v in hit.values()]
    assert rc.get(2)["note"] == "Grüße, 東京 🌍"
    stored = cache.hgetall(record_key(scratch, 1))
    assert stored == {"id": "1", "name": '"Mercury"', "note": "null", "price": "null", "born": "null"}
    assert (rc.stats.hits, rc.stats.misses) == (3, 2)


def test_record_planet_uses_the_tutorials_key(cache, db):
    rc = RecordCache(cache, db)  # defaults: table planet, columns id and name
    assert rc.key(12) == rc.key("12") == "planet:12"
    cache.delete("planet:12")
    assert rc.get(12) == rc.get(12) == {"id": 12, "name": "Earth"}


def test_record_expires_after_its_ttl(cache, db, scratch):
    rc = records(cache, db, scratch, ttl=1)
    rc.get(1)
    with db.cursor() as cur:
        cur.execute(f"UPDATE `{scratch}` SET name = 'Hermes' WHERE id = 1")
    assert rc.get(1)["name"] == "Mercury"
    time.sleep(1.1)
    assert rc.get(1)["name"] == "Hermes"


def test_record_missing_id_is_none_and_briefly_remembered(cache, db, scratch):
    rc = records(cache, db, scratch, negative_ttl=5)
    assert rc.get(99) is None
    assert rc.get(99) is None
    assert (rc.stats.hits, rc.stats.db_queries) == (1, 1)
    assert 0 < cache.ttl(record_key(scratch, 99)) <= 5
    with db.cursor() as cur:
        cur.execute(f"INSERT INTO `{scratch}` (id, name) VALUES (99, 'Vulcan')")
    rc.invalidate(99)
    assert rc.get(99)["name"] == "Vulcan"


def test_record_without_negative_cache_stores_nothing_for_a_missing_id(cache, db, scratch):
    rc = records(cache, db, scratch, negative_ttl=0)
    assert rc.get(98) is None and rc.get(98) is None
    assert rc.stats.db_queries == 2 and not cache.exists(record_key(scratch, 98))


@pytest.mark.badinput
@pytest.mark.parametrize("bad", ["10 OR 1=1", "1; DROP TABLE planet", None, "1e3"])
def test_record_ids_cannot_inject_sql(cache, db, scratch, bad):
    rc = records(cache, db, scratch)
    with pytest.raises(ValueError, match="id must be int"):
        rc.get(bad)
    assert rc.stats.db_queries == 0


@pytest.mark.badinput
def test_record_identifiers_are_checked(cache, db):
    with pytest.raises(ValueError, match="identifier"):
        RecordCache(cache, db, table="planet; DROP TABLE planet")


@pytest.mark.badinput
@pytest.mark.parametrize("foreign", ["tutorial-hash", "string", "partial-hash"])
def test_record_foreign_data_is_a_miss_and_is_overwritten(cache, db, scratch, foreign):
    rc = records(cache, db, scratch)
    key = record_key(scratch, 1)
    if foreign == "tutorial-hash":  # what the tutorial's hmset wrote: plain strings
        cache.hset(key, mapping={"id": "1", "name": "Mercury", "note": "", "price": "", "born": ""})
    elif foreign == "string":
        cache.set(key, "something else")
    else:
        cache.hset(key, mapping={"id": "1"})
    assert rc.get(1)["name"] == "Mercury" and rc.stats.misses == 1
    assert rc.get(1)["name"] == "Mercury" and rc.stats.hits == 1
    assert cache.hget(key, "name") == '"Mercury"'


def test_write_through_updates_database_and_cache_together(cache, db, scratch):
    rc = records(cache, db, scratch)
    rc.get(2)
    saved = rc.save({"id": 2, "name": "Terra", "note": None})
    assert saved["name"] == "Terra" and saved["note"] is None and saved["price"] == "12.50"
    assert cache.hget(record_key(scratch, 2), "name") == '"Terra"'
    before = rc.stats.db_queries
    assert rc.get(2) == saved and rc.stats.db_queries == before  # a hit: no database read
    with db.cursor() as cur:
        cur.execute(f"SELECT name, note FROM `{scratch}` WHERE id = 2")
        assert cur.fetchone() == {"name": "Terra", "note": None}


def test_write_through_inserts_a_new_row(cache, db, scratch):
    rc = records(cache, db, scratch)
    assert rc.get(7) is None
    assert rc.save({"id": 7, "name": "Pluto"})["name"] == "Pluto"
    assert rc.get(7)["name"] == "Pluto"


def test_update_invalidates_on_write(cache, db, scratch):
    rc = records(cache, db, scratch)
    rc.get(1)
    assert rc.update({"id": 1, "name": "Hermes"}) is True
    assert not cache.exists(record_key(scratch, 1))
    assert rc.get(1)["name"] == "Hermes"


@pytest.mark.badinput
def test_save_refuses_unknown_columns(cache, db, scratch):
    with pytest.raises(ValueError, match="not columns"):
        records(cache, db, scratch).save({"id": 1, "name": "x", "mass": 3})


@pytest.mark.badinput
def test_a_client_returning_bytes_is_refused(lab_settings, db):
    raw = redis.Redis.from_url(lab_settings.redis_url)  # decode_responses=False
    with pytest.raises(ValueError, match="decode_responses=True"):
        QueryCache(raw, db)


def test_shared_stats_count_both_patterns(cache, db, scratch, prefix):
    stats = CacheStats()
    QueryCache(cache, db, prefix=prefix, stats=stats).fetch("SELECT 1 AS one")
    records(cache, db, scratch, stats=stats).get(1)
    assert (stats.misses, stats.db_queries) == (2, 2)
    assert str(stats).startswith("hits=0 misses=2")


# -- failures: the cache down (fail open), the database down (clear error, hits still served)

@pytest.mark.faults
def test_cache_down_both_patterns_fall_back_to_the_database(db, scratch):
    dead = cache_client(f"redis://127.0.0.1:{free_port()}/0", check=False)
    stats = CacheStats()
    qc = QueryCache(dead, db, stats=stats, retry_after=0)
    rc = records(dead, db, scratch, stats=stats, retry_after=0)
    t0 = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert qc.fetch("SELECT name FROM planet WHERE id = 12") == [{"name": "Earth"}]
        assert qc.fetch("SELECT name FROM planet WHERE id = 12") == [{"name": "Earth"}]
        assert rc.get(1)["name"] == "Mercury"
        assert rc.save({"id": 1, "name": "Hermes"})["name"] == "Hermes"
        assert qc.invalidate("SELECT 1") is False
    assert time.monotonic() - t0 < 5
    ours = [w for w in caught if issubclass(w.category, CacheUnavailableWarning)]
    assert len(ours) == 2  # once per cache object and outage, not once per call
    assert ours[0].filename == __file__  # it points at the caller's line
    assert stats.cache_errors >= 5 and stats.hits == 0 and stats.misses == 3


@pytest.mark.faults
def test_cache_down_is_not_asked_again_within_retry_after(db):
    dead = cache_client(f"redis://127.0.0.1:{free_port()}/0", check=False)
    qc = QueryCache(dead, db, retry_after=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheUnavailableWarning)
        for _ in range(5):
            qc.fetch("SELECT 1 AS one")
    assert qc.stats.cache_errors == 1 and qc.stats.db_queries == 5


@pytest.mark.faults
def test_cache_back_after_an_outage_repopulates(db, tmp_path):
    """A Valkey of this test's own, stopped and started again on the same port."""
    server = shutil.which("valkey-server") or shutil.which("redis-server")
    if not server:
        pytest.skip("no valkey-server or redis-server on PATH")
    port = free_port()
    cmd = [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
           "--dir", str(tmp_path)]

    def start():
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port, socket_connect_timeout=0.2).ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        pytest.fail("test valkey-server did not start")

    proc = start()
    try:
        client = cache_client(f"redis://127.0.0.1:{port}/0")
        qc = QueryCache(client, db, retry_after=0)
        sql = "SELECT name FROM planet WHERE id = 13"
        qc.fetch(sql)
        assert qc.fetch(sql) == [{"name": "Mars"}] and qc.stats.hits == 1
        proc.terminate()
        proc.wait(10)
        with pytest.warns(CacheUnavailableWarning, match="unavailable"):
            assert qc.fetch(sql) == [{"name": "Mars"}]
        proc = start()  # back, and empty
        assert qc.fetch(sql) == [{"name": "Mars"}]  # a miss that repopulates
        assert client.get(qc.key(sql)) == '[{"name":"Mars"}]'
        assert qc.fetch(sql) == [{"name": "Mars"}] and qc.stats.hits == 2
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.faults
def test_database_down_hits_are_served_and_a_miss_names_the_fix(cache, lab_settings, prefix):
    conn = db_connection(lab_settings)
    qc = QueryCache(cache, conn, prefix=prefix)
    rc = RecordCache(cache, conn)
    qc.fetch("SELECT name FROM planet WHERE id = 14")
    cache.delete("planet:14")
    rc.get(14)
    conn.close()
    conn.port = free_port()  # the server "moved away": a reconnect finds nothing listening
    assert qc.fetch("SELECT name FROM planet WHERE id = 14") == [{"name": "Jupiter"}]
    assert rc.get(14) == {"id": 14, "name": "Jupiter"}
    t0 = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="nothing listens"):
        qc.fetch("SELECT name FROM planet WHERE id = 15")
    with pytest.raises(DatabaseUnavailable):
        rc.get(15)
    assert time.monotonic() - t0 < 5


@pytest.mark.faults
def test_a_lost_database_connection_is_reopened_once(cache, db, lab_settings, prefix):
    qc = QueryCache(cache, db, prefix=prefix)
    with db_connection(lab_settings) as admin, admin.cursor() as cur:
        cur.execute(f"KILL {db.thread_id()}")
    assert qc.fetch("SELECT name FROM planet WHERE id = 16") == [{"name": "Uranus"}]


@pytest.mark.badinput
def test_sql_mistakes_are_not_reported_as_an_outage(cache, db, prefix):
    qc = QueryCache(cache, db, prefix=prefix)
    with pytest.raises(pymysql.err.OperationalError, match="Unknown column"):
        qc.fetch("SELECT mass FROM planet")
    with pytest.raises(pymysql.err.ProgrammingError, match="doesn't exist"):
        qc.fetch("SELECT * FROM no_such_table")

"""Bad input, each answered within 5 s by a message that names the fix, with no hang and no
data lost or corrupted. Against a private lab's real servers (plain Valkey, the hardened TLS +
AUTH Valkey, MariaDB), plus extra valkey-server processes for a cluster and a read replica."""
import json
import socket
import time
import uuid
import warnings
from contextlib import contextmanager

import pymysql
import pytest
import redis

from helpers.caching import (CacheMisconfigured, CacheUnavailableWarning, MissingTable, NotCachedWarning,
                             QueryCache, RecordCache, MAX_KEY_BYTES)
from helpers.checks import check_database
from helpers.config import ConfigError
from helpers.connections import cache_client, db_connection
from helpers.errors import LabConnectionError, explain
from helpers.notebook import setup
from helpers.region import endpoint_region, region_code
from helpers.seed import PLANETS
from helpers.test_diagnose import Servers, cluster_node, wait_cluster_ok
from private_lab import NAME_SQL, module_lab

pytestmark = pytest.mark.badinput



lab = module_lab("badinput-lab")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    s = Servers(tmp_path_factory.mktemp("badinput-valkeys"))
    yield s
    s.stop()


@pytest.fixture
def cache(lab):
    return cache_client(lab.settings().redis_url)


@pytest.fixture
def db(lab):
    conn = db_connection(lab.settings())
    yield conn
    conn.close()


@pytest.fixture
def tls(lab):
    """(host:port/0 of the TLS cache, its token, its CA file)."""
    url, ca = lab.env["REDIS_TLS_URL"], lab.env["REDIS_TLS_CA"]
    token, host_port = url.split("://:", 1)[1].split("@", 1)
    return host_port, token, ca


@contextmanager
def within(seconds=5.0):
    started = time.monotonic()
    yield
    assert time.monotonic() - started < seconds, f"took {time.monotonic() - started:.1f} s"


def fails_with(kind, call, *args, **kwargs) -> str:
    """Run a connection factory that must fail with LabConnectionError of `kind` within 5 s."""
    with within(), pytest.raises(LabConnectionError) as raised:
        call(*args, **kwargs)
    assert raised.value.kind == kind, str(raised.value)
    return str(raised.value)


def fingerprint(db):
    """Everything an injection could change: the tables, and each one's checksum and row count."""
    with db.cursor() as cur:
        cur.execute("SHOW TABLES")
        tables = sorted(next(iter(row.values())) for row in cur.fetchall())
        cur.execute(f"CHECKSUM TABLE {', '.join(f'`{t}`' for t in tables)}")
        sums = {row["Table"]: row["Checksum"] for row in cur.fetchall()}
        cur.execute("SELECT COUNT(*) AS n FROM planet")
        return tables, sums, cur.fetchone()["n"]


def black_hole():
    """A listener whose accept queue is full: new connections get no answer at all, as behind a
    security group without the rule. Returns (port, things to close)."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    port = hole.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    return port, (filler, hole)


# -- connection settings: wrong host or port

def test_a_cache_host_that_does_not_resolve_names_the_endpoint_fix():
    assert "copy the Primary/Configuration endpoint" in fails_with(
        "dns", cache_client, "redis://lab-redis.xxxxxx.aps1.cache.invalid:6379/0")


def test_the_database_port_given_as_the_cache_port_says_not_valkey(lab):
    message = fails_with("not_redis", cache_client, f"redis://127.0.0.1:{lab.settings().db_port}/0")
    assert "check the port in REDIS_URL" in message


def test_the_cache_port_given_as_the_database_port_says_not_mysql_instead_of_hanging(lab):
    settings = lab.settings(db_port=int(lab.settings().redis_url.rsplit(":", 1)[1].split("/")[0]))
    assert "check DB_PORT" in fails_with("db_not_mysql", db_connection, settings)


def test_a_database_host_that_does_not_resolve_names_db_host(lab):
    assert "DB_HOST" in fails_with("db_dns", db_connection, lab.settings(db_host="lab-mysql.xxxx.invalid"))


@pytest.mark.parametrize("service", ["cache", "database"])
def test_an_unanswered_connection_is_a_timeout_naming_the_right_security_group(lab, service):
    port, closers = black_hole()
    try:
        if service == "cache":
            message = fails_with("timeout", cache_client, f"redis://127.0.0.1:{port}/0")
            assert "SG-RedisCache allows 6379 from SG-RedisClient" in message
        else:
            message = fails_with("db_timeout", db_connection, lab.settings(db_port=port))
            assert "SG-RDS-MySQL allows 3306 from SG-RedisClient" in message
    finally:
        for thing in closers:
            thing.close()


# -- TLS mismatch, both directions, and AUTH, on the lab's hardened Valkey

def test_plain_redis_url_on_the_tls_cache_says_use_rediss(tls):
    host_port, _, _ = tls
    assert "use rediss://" in fails_with("tls_required", cache_client, f"redis://{host_port}")


def test_rediss_url_on_the_plain_cache_says_use_redis_within_5_s(lab, tls):
    _, _, ca = tls
    url = lab.settings().redis_url.replace("redis://", "rediss://")
    assert "does not speak TLS: use redis://" in fails_with("tls_unexpected", cache_client, url, ssl_ca_certs=ca)


def test_an_untrusted_certificate_says_pass_the_ca(tls):
    host_port, token, _ = tls
    message = fails_with("tls_cert", cache_client, f"rediss://:{token}@{host_port}")
    assert "ssl_ca_certs" in message and token not in message


def test_a_missing_token_says_auth_is_required(tls):
    host_port, _, ca = tls
    assert "requires AUTH" in fails_with("auth_required", cache_client, f"rediss://{host_port}", ssl_ca_certs=ca)


def test_a_wrong_token_says_so_and_is_never_shown(tls):
    host_port, token, ca = tls
    wrong = token[::-1]
    message = fails_with("auth_wrong", cache_client, f"rediss://:{wrong}@{host_port}", ssl_ca_certs=ca)
    assert wrong not in message and token not in message and ":***@" in message


def test_the_right_token_and_ca_connect_and_both_patterns_work_over_tls(tls, db):
    host_port, token, ca = tls
    secure = cache_client(f"rediss://:{token}@{host_port}", ssl_ca_certs=ca)
    qc, rc = QueryCache(secure, db, prefix=f"tls-{uuid.uuid4().hex[:6]}"), RecordCache(secure, db)
    assert qc.fetch(NAME_SQL, (12,)) == qc.fetch(NAME_SQL, (12,)) == [{"name": "Earth"}]
    secure.delete(rc.key(12))
    assert rc.get(12) == rc.get(12) == {"id": 12, "name": "Earth"}
    assert qc.stats.hits == rc.stats.hits == 1


# -- a cluster-mode endpoint used with a plain client

@pytest.fixture(scope="module")
def cluster(servers):
    """Two primaries, half the slots each: a plain client gets MOVED for half the keys."""
    (a, _), (b, b_bus) = cluster_node(servers, "cluster-a"), cluster_node(servers, "cluster-b")
    servers.cli_run(a, "CLUSTER", "ADDSLOTSRANGE", "0", "8191")
    servers.cli_run(b, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383")
    servers.cli_run(a, "CLUSTER", "MEET", "127.0.0.1", str(b), str(b_bus))
    wait_cluster_ok(servers, a, b)
    return a


def test_a_plain_client_on_a_cluster_endpoint_names_the_cluster_client(cluster, db):
    plain = redis.Redis(port=cluster, decode_responses=True, socket_timeout=2)
    assert plain.ping()  # connecting works: the trouble starts at the first key in another shard
    qc = QueryCache(plain, db)
    with within():
        sql = next(s for s in (f"SELECT {i} AS n" for i in range(64))
                   if _moved(plain, qc.key(s)))  # a query whose key lives on the other node
        with pytest.raises(CacheMisconfigured, match="use a cluster client .*RedisCluster, valkey-cli -c"):
            qc.fetch(sql)
    with pytest.raises(redis.ResponseError) as moved:
        plain.get(qc.key(sql))
    assert "valkey-cli -c" in explain(moved.value)


def _moved(client, key):
    try:
        client.get(key)
        return False
    except redis.exceptions.MovedError:
        return True


def test_cache_client_on_a_cluster_node_gives_a_cluster_client_that_reaches_every_slot(cluster, db):
    client = cache_client(f"redis://127.0.0.1:{cluster}/0")
    assert type(client).__name__ == "RedisCluster"
    qc = QueryCache(client, db, prefix=f"cl-{uuid.uuid4().hex[:6]}")
    for id in PLANETS:
        assert qc.fetch(NAME_SQL, (id,)) == qc.fetch(NAME_SQL, (id,)) == [{"name": PLANETS[id]}]
    assert qc.stats.hits == 8


def test_a_read_replica_endpoint_names_the_primary_endpoint(lab, servers, db):
    """The reader endpoint used for writes: reads work, the first cache write is refused."""
    primary = int(lab.settings().redis_url.rsplit(":", 1)[1].split("/")[0])
    replica = servers.start("replica", "--replicaof", "127.0.0.1", str(primary))
    qc = QueryCache(cache_client(f"redis://127.0.0.1:{replica}/0"), db, prefix=f"ro-{uuid.uuid4().hex[:6]}")
    with within(), pytest.raises(CacheMisconfigured, match="read replica: write through the primary endpoint"):
        qc.fetch(NAME_SQL, (13,))


# -- a region mismatch in aws mode

def test_a_region_mismatch_in_aws_mode_stops_setup_with_the_fix(tmp_path, monkeypatch):
    (tmp_path / "state-aws.json").write_text(json.dumps({
        "region": "ap-south-1", "cache_id": "lab-redis",
        "redis_url": "redis://master.lab-redis.abc123.aps1.cache.amazonaws.com:6379/0"}))
    for var in ("REDIS_URL", "DB_HOST", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_MODE", "aws")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # setup() sets it: restored after the test
    with within(), pytest.raises(ConfigError) as raised:
        setup(echo=lambda line: None)
    message = str(raised.value)
    assert "this session uses eu-west-1" in message and "REDIS_URL is an endpoint in aps1" in message
    assert "set AWS_REGION=ap-south-1" in message
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert setup(echo=lambda line: None).region == "ap-south-1"  # one region: no complaint


@pytest.mark.parametrize("region, code", [("ap-south-1", "aps1"), ("us-east-1", "use1"), ("eu-west-3", "euw3"),
                                          ("ap-southeast-2", "apse2"), ("eu-central-1", "euc1"),
                                          ("ap-northeast-1", "apne1"), ("ca-central-1", "cac1")])
def test_region_codes_match_elasticache_endpoints(region, code):
    assert region_code(region) == code
    assert endpoint_region(f"master.lab-redis.abc123.{code}.cache.amazonaws.com") == code
    assert endpoint_region(f"lab-mysql.abc.{region}.rds.amazonaws.com") == region


# -- the database: wrong password, missing table, unknown id

def test_a_wrong_database_password_says_check_db_pass_and_hides_both(lab):
    settings = lab.settings(db_pass="not-the-password")
    message = fails_with("db_auth", db_connection, settings)
    assert "check DB_USER and DB_PASS" in message
    check = check_database(settings)
    assert check.status == "FAIL" and "DB_PASS" in check.detail
    for secret in ("not-the-password", lab.settings().db_pass):
        assert secret not in message + check.detail


def test_a_missing_table_names_the_seed_and_loses_no_data(lab, cache, db):
    before = fingerprint(db)
    with db.cursor() as cur:
        cur.execute("RENAME TABLE planet TO planet_hidden_by_test")
    try:
        check = check_database(lab.settings())
        assert check.status == "FAIL" and "load the seed" in check.detail
        cache.delete("planet:11")
        with within():
            with pytest.raises(MissingTable, match="doesn't exist: the table is missing: load the seed"):
                RecordCache(cache, db).get(11)
            with pytest.raises(pymysql.err.ProgrammingError, match="load the seed"):
                QueryCache(cache, db, prefix=f"mt-{uuid.uuid4().hex[:6]}").fetch("SELECT * FROM planet")
    finally:
        with db.cursor() as cur:
            cur.execute("RENAME TABLE planet_hidden_by_test TO planet")
    assert fingerprint(db) == before


@pytest.mark.parametrize("id", [99, 0, 2**31, 2**70, -1])
def test_an_unknown_planet_id_is_none_without_a_crash(cache, db, id):
    rc = RecordCache(cache, db)
    cache.delete(rc.key(id))
    assert rc.get(id) is None and rc.get(id) is None
    assert (rc.stats.misses, rc.stats.hits) == (1, 1)  # the second one is the short negative cache
    assert QueryCache(cache, db, prefix=f"uk-{uuid.uuid4().hex[:6]}").fetch(NAME_SQL, (id,)) == []


@pytest.mark.parametrize("id", [12.7, True, None, "", "12.0", "0x0c", [12], "9" * 5000])
def test_an_id_that_is_not_an_integer_is_refused_before_any_query(cache, db, id):
    rc = RecordCache(cache, db)
    with within(1), pytest.raises(ValueError, match="planet id must be int, not") as raised:
        rc.get(id)
    assert len(str(raised.value)) < 120 and rc.stats.db_queries == 0


# -- injection: SQL in ids and in the cached SQL text, RESP in values

@pytest.mark.parametrize("payload", ["12 OR 1=1", "12; DROP TABLE planet", "12' OR '1'='1",
                                     "12 UNION SELECT CURRENT_USER()", "12); DELETE FROM planet; --"])
def test_sql_injection_in_ids_changes_nothing_and_leaks_no_rows(cache, db, payload):
    before = fingerprint(db)
    with pytest.raises(ValueError):
        RecordCache(cache, db).get(payload)
    rows = QueryCache(cache, db, prefix=f"inj-{uuid.uuid4().hex[:6]}").fetch(NAME_SQL, (payload,))
    # A parameter is only ever a value: MySQL compares the text with the id column, as a number.
    assert rows in ([], [{"name": "Earth"}])
    assert fingerprint(db) == before


def test_sql_injection_in_the_cached_sql_text_runs_no_second_statement_and_poisons_no_key(cache, db):
    before = fingerprint(db)
    qc = QueryCache(cache, db, prefix=f"inj-{uuid.uuid4().hex[:6]}")
    with pytest.raises(pymysql.err.ProgrammingError, match="syntax"):
        qc.fetch("SELECT name FROM planet WHERE id = 12; DROP TABLE planet")  # one statement per call
    assert not list(cache.scan_iter(f"{qc.prefix}:*"))
    # SQL text glued together from input does leak (which is why values go in as %s) ...
    glued = qc.fetch("SELECT name FROM planet WHERE id = 12 UNION SELECT CURRENT_USER()")
    assert len(glued) == 2
    # ... but only under its own key: the parameterised query's cached answer stays its own.
    assert qc.fetch(NAME_SQL, (12,)) == qc.fetch(NAME_SQL, (12,)) == [{"name": "Earth"}]
    assert qc.key(NAME_SQL, (12,)) != qc.key("SELECT name FROM planet WHERE id = 12 UNION SELECT CURRENT_USER()")
    assert fingerprint(db) == before


@pytest.fixture
def scratch(db, cache):
    table = f"badinput_{uuid.uuid4().hex[:8]}"
    with db.cursor() as cur:
        cur.execute(f"CREATE TABLE `{table}` (id INT UNSIGNED PRIMARY KEY, name VARCHAR(100) NULL, "
                    "body LONGTEXT NULL) CHARACTER SET utf8mb4")
        cur.execute(f"INSERT INTO `{table}` VALUES (1, 'Mercury', NULL)")
    yield table
    with db.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{table}`")
    for key in cache.scan_iter(f"{table}:*"):
        cache.delete(key)


def test_resp_and_sql_metacharacters_in_values_round_trip_and_touch_no_other_key(cache, db, scratch):
    rc = RecordCache(cache, db, table=scratch, columns=("id", "name", "body"))
    cache.set(f"{scratch}:canary", "still here")
    keys = cache.dbsize()
    hostile = "x'); DROP TABLE planet; --\r\n*1\r\n$8\r\nFLUSHALL\r\n"
    saved = rc.save({"id": 2, "name": "Vulcan", "body": hostile})
    assert saved["body"] == hostile and rc.get(2)["body"] == hostile and rc.stats.hits == 1
    assert cache.get(f"{scratch}:canary") == "still here" and cache.dbsize() == keys + 1
    assert fingerprint(db)[2] == 8


# -- cached data: foreign data under a key, NULL and non-ASCII values, oversized keys and values

@pytest.mark.parametrize("foreign", [b"\xff\xfe not UTF-8", b"42", b'{"id": 12}', b"[1, 2]", b"null"])
def test_foreign_or_non_utf8_data_under_a_query_key_is_a_miss_and_is_overwritten(cache, db, foreign):
    qc = QueryCache(cache, db, prefix=f"fd-{uuid.uuid4().hex[:6]}")
    cache.set(qc.key(NAME_SQL, (12,)), foreign)  # bytes go in as they are
    with within():
        assert qc.fetch(NAME_SQL, (12,)) == [{"name": "Earth"}]
    assert qc.stats.misses == 1 and cache.get(qc.key(NAME_SQL, (12,))) == '[{"name":"Earth"}]'


def test_non_utf8_bytes_in_a_record_hash_are_a_miss_and_are_overwritten(lab, cache, db):
    raw = redis.Redis.from_url(lab.settings().redis_url)  # bytes in, bytes out
    raw.delete("planet:12")
    raw.hset("planet:12", mapping={b"id": b"\xff", b"name": b"\xfe\xfd"})
    rc = RecordCache(cache, db)
    assert rc.get(12) == {"id": 12, "name": "Earth"} and rc.stats.misses == 1
    assert rc.get(12) == {"id": 12, "name": "Earth"} and rc.stats.hits == 1


@pytest.mark.parametrize("name", [None, "Ñandú 東京 🌍", "עִבְרִית", "e\u0301", "nul\x00byte", "", "\\\"'`%s%%"])
def test_null_and_non_ascii_values_are_the_same_from_cache_and_database(cache, db, scratch, name):
    rc = RecordCache(cache, db, table=scratch, columns=("id", "name", "body"))
    qc = QueryCache(cache, db, prefix=f"{scratch}:q")
    rc.save({"id": 3, "name": name})
    sql = f"SELECT name FROM `{scratch}` WHERE id = %s"
    with db.cursor() as cur:
        cur.execute(sql, (3,))
        truth = cur.fetchone()["name"]
    assert truth == name
    assert rc.get(3)["name"] == name and rc.stats.hits == 1  # save() cached it: a hit
    assert qc.fetch(sql, (3,)) == qc.fetch(sql, (3,)) == [{"name": name}]


def test_oversized_sql_gets_a_bounded_key_and_an_oversized_id_is_refused(cache, db):
    huge_sql = "SELECT name FROM planet WHERE id = %s" + " " * 1_000_000 + "-- padding"
    qc = QueryCache(cache, db, prefix=f"big-{uuid.uuid4().hex[:6]}")
    with within():
        assert qc.fetch(huge_sql, (12,)) == qc.fetch(huge_sql, (12,)) == [{"name": "Earth"}]
    assert len(qc.key(huge_sql, (12,))) == len(qc.prefix) + 33 and qc.stats.hits == 1
    with pytest.raises(ValueError, match="MAX_KEY_BYTES"):
        QueryCache(cache, db, prefix="p" * (MAX_KEY_BYTES + 1))
    rc = RecordCache(cache, db, id_type=str)  # a text id: the key would grow with it
    with pytest.raises(ValueError, match="over MAX_KEY_BYTES"):
        rc.get("7" * (MAX_KEY_BYTES + 1))
    assert rc.stats.db_queries == 0


def test_oversized_values_are_served_but_not_cached_with_a_warning(cache, db, scratch):
    body = "ü" * 800_000  # 1.6 MB as UTF-8, over the 1 MB default
    rc = RecordCache(cache, db, table=scratch, columns=("id", "name", "body"))
    assert rc.get(1)["body"] is None and cache.exists(rc.key(1))  # a small copy in the cache
    with within(), pytest.warns(NotCachedWarning, match="over max_bytes=1000000"):
        assert rc.save({"id": 1, "body": body})["body"] == body
    assert not cache.exists(rc.key(1))  # the older, smaller copy went too: never served stale
    with pytest.warns(NotCachedWarning):
        assert rc.get(1)["body"] == body
    qc = QueryCache(cache, db, prefix=f"{scratch}:q")
    with pytest.warns(NotCachedWarning):
        assert qc.fetch(f"SELECT body FROM `{scratch}` WHERE id = %s", (1,)) == [{"body": body}]
    assert not list(cache.scan_iter(f"{scratch}:q:*"))
    assert (rc.stats.not_cached, qc.stats.not_cached) == (2, 1)
    with db.cursor() as cur:
        cur.execute(f"SELECT CHAR_LENGTH(body) AS n FROM `{scratch}` WHERE id = 1")
        assert cur.fetchone()["n"] == 800_000  # stored whole


def test_a_full_cache_refuses_writes_with_the_fix_and_the_database_answers(lab, cache, db):
    """maxmemory reached with keys that have no TTL: under volatile-lru nothing may be evicted."""
    cache.flushall()  # no key with a TTL left that volatile-lru could evict to make room
    filler = [f"no-ttl-{i}" for i in range(50)]
    for key in filler:
        cache.set(key, "x" * 5_000)  # no TTL: never evictable under volatile-lru
    cache.config_set("maxmemory", int(cache.info("memory")["used_memory"]) // 2)  # full, and then some
    try:
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            cache.set("one-more", "x")
        qc = QueryCache(cache, db, prefix=f"oom-{uuid.uuid4().hex[:6]}")
        with within(), pytest.warns(CacheUnavailableWarning, match="give every key a TTL"):
            assert qc.fetch(NAME_SQL, (14,)) == [{"name": "Jupiter"}]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once per kind, not once per call
            assert qc.fetch(NAME_SQL, (14,)) == [{"name": "Jupiter"}]
        assert qc.stats.cache_errors == 2 and qc.stats.hits == 0
    finally:
        cache.config_set("maxmemory", 0)
        cache.delete(*filler)

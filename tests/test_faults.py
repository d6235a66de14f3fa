"""Faults survived, against a private lab's real servers stopped and restarted by pid:
the cache down (fail open) and back (repopulate), the cache back empty or with its old data
(no stale or wrong answers), the database down (a clear error; cached hits still served)."""
import time
import warnings

import pytest

from helpers.caching import (CacheStats, CacheUnavailableWarning, DatabaseUnavailable, QueryCache,
                             RecordCache)
from helpers.checks import check_cache, check_database
from helpers.connections import cache_client, db_connection
from helpers.errors import LabConnectionError
from helpers.seed import PLANETS
from private_lab import NAME_SQL, module_lab

pytestmark = pytest.mark.faults



lab = module_lab("faults-lab")


@pytest.fixture
def clients(lab):
    """A cache client with short timeouts (a stopped server answers fast anyway) and a database
    connection; the planet names are put back afterwards, and the cache emptied."""
    cache = cache_client(lab.settings().redis_url, socket_timeout=1)
    db = db_connection(lab.settings())
    yield cache, db
    lab.restart()
    with db_connection(lab.settings()) as conn, conn.cursor() as cur:
        cur.executemany("UPDATE planet SET name = %s WHERE id = %s", [(n, i) for i, n in PLANETS.items()])
    cache_client(lab.settings().redis_url).flushall()
    (lab.root / "cache" / "dump.rdb").unlink(missing_ok=True)


def patterns(cache, db, **kwargs):
    stats = CacheStats()
    return (QueryCache(cache, db, stats=stats, retry_after=0, **kwargs),
            RecordCache(cache, db, stats=stats, retry_after=0, **kwargs), stats)


def db_name(db, id):
    with db.cursor() as cur:
        cur.execute(NAME_SQL, (id,))
        return cur.fetchone()["name"]


def test_cache_down_both_patterns_fail_open_with_a_warning_and_a_counter(lab, clients):
    cache, db = clients
    qc, rc, stats = patterns(cache, db)
    qc.fetch(NAME_SQL, (12,)), rc.get(12)  # cached while the cache is up
    lab.stop_cache()
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert qc.fetch(NAME_SQL, (12,)) == [{"name": "Earth"}]
        assert rc.get(12) == {"id": 12, "name": "Earth"}
        assert rc.get(99) is None
        assert rc.save({"id": 13, "name": "Ares"})["name"] == "Ares"    # write-through: the database still
        assert rc.update({"id": 14, "name": "Zeus"}) is False           # invalidate-on-write: cache not told
        assert qc.invalidate(NAME_SQL, (12,)) is False
    assert time.monotonic() - started < 5
    ours = [w for w in caught if w.category is CacheUnavailableWarning]
    assert len(ours) == 2 and all("serving from the database" in str(w.message) for w in ours)
    assert stats.cache_errors >= 6 and stats.hits == 0
    assert (db_name(db, 13), db_name(db, 14)) == ("Ares", "Zeus")
    assert check_cache(lab.settings()).status == "FAIL"


def test_cache_back_both_patterns_repopulate(lab, clients):
    cache, db = clients
    qc, rc, stats = patterns(cache, db)
    lab.stop_cache()
    with pytest.warns(CacheUnavailableWarning):
        assert qc.fetch(NAME_SQL, (15,)) == [{"name": "Saturn"}]
    with pytest.warns(CacheUnavailableWarning):
        assert rc.get(15)["name"] == "Saturn"
    lab.restart()
    assert qc.fetch(NAME_SQL, (15,)) == [{"name": "Saturn"}]  # misses that fill the cache again
    assert rc.get(15)["name"] == "Saturn"
    assert cache.exists(qc.key(NAME_SQL, (15,)), rc.key(15)) == 2
    before = stats.db_queries
    assert qc.fetch(NAME_SQL, (15,)) == [{"name": "Saturn"}] and rc.get(15)["name"] == "Saturn"
    assert stats.db_queries == before and stats.hits == 2
    assert check_cache(lab.settings()).status == "OK"


def test_cache_restarted_empty_mid_run_serves_no_stale_and_no_wrong_data(lab, clients):
    """A reader and a writer take turns over all eight planets; halfway the cache is stopped, a
    round of writes happens while it is down, and it comes back empty. Every read must equal the
    database's current row: never an older name, never another planet's."""
    cache, db = clients
    qc, rc, stats = patterns(cache, db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheUnavailableWarning)
        for round_ in range(6):
            if round_ == 2:
                lab.stop_cache()
            if round_ == 4:
                lab.restart()
            for id, name in PLANETS.items():
                new = f"{name}-{round_}"
                if round_ % 2:
                    rc.save({"id": id, "name": new})        # write-through
                else:
                    rc.update({"id": id, "name": new})      # invalidate-on-write
                qc.invalidate(NAME_SQL, (id,))
                for _ in range(2):  # a miss, then (cache up) a hit
                    assert rc.get(id) == {"id": id, "name": db_name(db, id)} == {"id": id, "name": new}
                    assert qc.fetch(NAME_SQL, (id,)) == [{"name": new}]
    assert stats.hits > 0 and stats.cache_errors > 0


def test_cache_back_with_its_old_data_serves_no_stale_value(lab, clients):
    """The cache comes back *with* its data (as after a failover or a reboot from a snapshot),
    but missed the invalidations made while it was away: those keys are deleted before it is
    trusted again, so the update made during the outage is what readers see."""
    cache, db = clients
    qc, rc, _ = patterns(cache, db)
    assert rc.get(16)["name"] == "Uranus" and qc.fetch(NAME_SQL, (16,)) == [{"name": "Uranus"}]
    cache.save()  # a snapshot with the old values; the restart loads it
    lab.stop_cache()
    with pytest.warns(CacheUnavailableWarning):
        assert rc.update({"id": 16, "name": "Herschel"}) is False
    with pytest.warns(CacheUnavailableWarning):
        assert qc.invalidate(NAME_SQL, (16,)) is False
    lab.restart()
    assert cache.hget(rc.key(16), "name") == '"Uranus"'  # the old copy is back in the cache ...
    assert rc.get(16)["name"] == "Herschel"                # ... but never served
    assert qc.fetch(NAME_SQL, (16,)) == [{"name": "Herschel"}]
    assert rc.get(16)["name"] == "Herschel" and rc.stats.hits == 1


def test_database_down_names_the_fix_and_cached_hits_are_still_served(lab, clients):
    cache, db = clients
    qc, rc, stats = patterns(cache, db)
    qc.fetch(NAME_SQL, (17,)), rc.get(17)
    lab.stop_db()
    assert qc.fetch(NAME_SQL, (17,)) == [{"name": "Neptune"}]
    assert rc.get(17) == {"id": 17, "name": "Neptune"}
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="nothing listens on that host and port.*make up"):
        qc.fetch(NAME_SQL, (10,))
    with pytest.raises(DatabaseUnavailable, match="make up"):
        rc.get(10)
    with pytest.raises(DatabaseUnavailable):
        rc.save({"id": 10, "name": "Hermes"})   # nothing reaches the cache when the write failed
    with pytest.raises(LabConnectionError, match="make up"):
        db_connection(lab.settings())
    check = check_database(lab.settings())
    assert check.status == "FAIL" and "make up" in check.detail
    assert time.monotonic() - started < 5
    assert not cache.exists(rc.key(10))  # a failed write-through put nothing in the cache
    assert stats.hits >= 2
    lab.restart()
    assert qc.fetch(NAME_SQL, (10,)) == [{"name": "Mercury"}]  # one reconnect, then answers again
    assert rc.get(10) == {"id": 10, "name": "Mercury"}

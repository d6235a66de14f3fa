"""`make bench`: notebook 08's measurements as a script, with a progress bar and a JSON report.

    python -m helpers.bench [--quick] [--out FILE]

It writes bench.json in the lab folder (helpers.config.lab_dir(), normally .lab/) with:
  hit_overhead_ratio       p50 of helpers.caching.QueryCache.fetch() on a hit ÷ p50 of a raw redis-py
                           GET + json.loads of the same key, measured interleaved in one run
  pipeline_speedup         warm-up of 10,000 exoplanet hashes (id, name), each with a TTL: one call per
                           record (a MULTI/EXEC, one round trip) ÷ the same commands pipelined, 1,000
                           records per MULTI/EXEC (best of 3 each; the raw numbers also hold the
                           tutorial's two calls per record and a pipeline without MULTI)
  expensive_query_speedup  p50 of a miss ÷ p50 of a hit on helpers.dataset.EXPENSIVE_SQL
plus the raw numbers of every measurement, the goals, and a description of the machine.

Everything runs twice: with hiredis (redis-py uses it when it is installed) and with redis-py's
pure-Python protocol code, in a child process that cannot import hiredis. The headline figures
come from the first (the configuration the lab installs).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

GOALS = {"hit_overhead_ratio": ("<=", 1.10), "pipeline_speedup": (">=", 10.0),
         "expensive_query_speedup": (">=", 50.0)}
PREFIX = "bench"  # the bench's keys start with bench: (or are exoplanet:<id>) and are deleted at the end
WARMUP_TTL = 300
NO_HIREDIS = "import sys; sys.modules['hiredis'] = None; from helpers.bench import child_main; child_main()"


@dataclasses.dataclass(frozen=True)
class Sizes:
    hit_pairs: int = 20_000        # interleaved helper-hit / raw-GET pairs
    warmup_records: int = 10_000   # hashes per warm-up
    warmup_repeats: int = 3        # best of n, for each way
    expensive_misses: int = 30     # misses of the expensive query (~80 ms each on loopback)
    expensive_hits: int = 2_000
    lookups: int = 2_000           # primary-key lookups, database only and cache hits

    def operations(self) -> int:
        """How many timed operations one run makes (the progress bar's total)."""
        return (2 * self.hit_pairs + 4 * self.warmup_repeats * self.warmup_records
                + self.expensive_misses + self.expensive_hits + 2 * self.lookups)


QUICK = Sizes(hit_pairs=200, warmup_records=200, warmup_repeats=1, expensive_misses=3,
              expensive_hits=50, lookups=50)


# -- pure logic (unit-tested without servers)
def percentile(samples, q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between the two nearest ranks
    (numpy's default method)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds) -> dict:
    """p50 / p95 / p99 / mean of a list of durations in seconds, as microseconds."""
    us = [s * 1e6 for s in seconds]
    return {"n": len(us), "p50_us": round(percentile(us, 50), 2), "p95_us": round(percentile(us, 95), 2),
            "p99_us": round(percentile(us, 99), 2), "mean_us": round(sum(us) / len(us), 2)}


def ratio(numerator: float, denominator: float) -> float:
    if denominator <= 0 or numerator < 0:
        raise ValueError(f"cannot form a ratio of {numerator} to {denominator}")
    return round(numerator / denominator, 3)


def check_goals(figures: dict) -> dict:
    """{field: {"value", "goal", "met"}} for every goal whose figure is present."""
    out = {}
    for field, (op, target) in GOALS.items():
        if field in figures:
            value = figures[field]
            out[field] = {"value": value, "goal": f"{op} {target}",
                          "met": value <= target if op == "<=" else value >= target}
    return out


def interleaved(first: Callable[[], object], second: Callable[[], object], pairs: int,
                clock=time.perf_counter, tick=lambda n: None) -> tuple[list[float], list[float]]:
    """Time `first` and `second` alternately, swapping which goes first on every pair, so drift
    (CPU frequency, other load, a warming cache) touches both equally."""
    a, b = [], []
    for i in range(pairs):
        for fn, out in ((first, a), (second, b)) if i % 2 == 0 else ((second, b), (first, a)):
            start = clock()
            fn()
            out.append(clock() - start)
        tick(2)
    return a, b


def timed(fn: Callable[[], object], clock=time.perf_counter) -> float:
    start = clock()
    fn()
    return clock() - start


# -- the measurements (against real servers)
def _hit_overhead(cache, db, sizes: Sizes, tick) -> dict:
    from helpers.caching import QueryCache
    from helpers.dataset import EXPENSIVE_SQL

    queries = QueryCache(cache, db, ttl=600, prefix=f"{PREFIX}:query")
    params = (2016,)
    queries.fetch(EXPENSIVE_SQL, params)  # cached now: every call below is a hit
    key = queries.key(EXPENSIVE_SQL, params)
    helper, raw = interleaved(lambda: queries.fetch(EXPENSIVE_SQL, params), lambda: json.loads(cache.get(key)),
                              sizes.hit_pairs, tick=tick)
    helper_s, raw_s = summarize(helper), summarize(raw)
    return {"helpers_hit": helper_s, "raw_get_json_loads": raw_s,
            "ratio": ratio(helper_s["p50_us"], raw_s["p50_us"])}


def warmup_records(count: int) -> list[tuple[str, dict]]:
    """(key, hash fields) for the first `count` exoplanets: id and name, JSON-encoded as
    helpers.caching.RecordCache stores them."""
    from helpers.caching import to_json
    from helpers.dataset import exoplanet_rows

    return [(f"{PREFIX}:exoplanet:{row[0]}", {"id": to_json(row[0]), "name": to_json(row[1])})
            for row in exoplanet_rows(count)]


def warm_one_call_each(cache, records, ttl: int = WARMUP_TTL) -> None:
    """One round trip per record: HSET + EXPIRE in a MULTI/EXEC (as notebook 06 writes a hash)."""
    for key, fields in records:
        with cache.pipeline(transaction=True) as tx:
            tx.hset(key, mapping=fields)
            tx.expire(key, ttl)
            tx.execute()


def warm_two_calls_each(cache, records, ttl: int = WARMUP_TTL) -> None:
    """The tutorial's way: HSET, then EXPIRE, two round trips per record (and not atomic)."""
    for key, fields in records:
        cache.hset(key, mapping=fields)
        cache.expire(key, ttl)


def warm_pipelined(cache, records, ttl: int = WARMUP_TTL, chunk: int = 1_000, transaction: bool = True) -> None:
    """The same commands, `chunk` records per round trip. With transaction=True each chunk is one
    MULTI/EXEC, so no hash is ever left without its TTL (the headline figure uses this)."""
    for start in range(0, len(records), chunk):
        with cache.pipeline(transaction=transaction) as pipe:
            for key, fields in records[start:start + chunk]:
                pipe.hset(key, mapping=fields)
                pipe.expire(key, ttl)
            pipe.execute()


def warm_pipelined_plain(cache, records, ttl: int = WARMUP_TTL) -> None:
    """Pipelined without MULTI: a little faster, but a client that dies mid-send can leave a hash
    whose EXPIRE never arrived (reported for comparison only)."""
    warm_pipelined(cache, records, ttl, transaction=False)


WARMUPS = {"one_call_each_s": warm_one_call_each, "two_calls_each_s": warm_two_calls_each,
           "pipelined_s": warm_pipelined, "pipelined_no_multi_s": warm_pipelined_plain}


def _delete(cache, keys) -> None:
    with cache.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.delete(key)
        pipe.execute()


def _pipeline(cache, sizes: Sizes, tick) -> dict:
    records = warmup_records(sizes.warmup_records)
    keys = [key for key, _ in records]
    seconds = {name: [] for name in WARMUPS}
    for _ in range(sizes.warmup_repeats):
        for name, warm in WARMUPS.items():
            _delete(cache, keys)  # the same empty start for every way
            seconds[name].append(round(timed(lambda: warm(cache, records)), 4))
            assert 0 < cache.ttl(keys[-1]) <= WARMUP_TTL, f"{name} left a hash without a TTL"
            tick(len(records))
    _delete(cache, keys)
    best = {name: min(values) for name, values in seconds.items()}
    return {"records": len(records), "ttl_s": WARMUP_TTL, **seconds,
            "speedup": ratio(best["one_call_each_s"], best["pipelined_s"]),
            "speedup_vs_two_calls_each": ratio(best["two_calls_each_s"], best["pipelined_s"]),
            "speedup_no_multi": ratio(best["one_call_each_s"], best["pipelined_no_multi_s"])}


def _expensive_query(cache, db, sizes: Sizes, tick) -> dict:
    from helpers.caching import QueryCache
    from helpers.dataset import EXPENSIVE_SQL, YEARS

    queries = QueryCache(cache, db, ttl=600, prefix=f"{PREFIX}:query")
    misses, hits = [], []
    for i in range(sizes.expensive_misses):
        params = (YEARS[i % len(YEARS)],)
        queries.invalidate(EXPENSIVE_SQL, params)
        misses.append(timed(lambda: queries.fetch(EXPENSIVE_SQL, params)))
        tick(1)
    for i in range(sizes.expensive_hits):
        params = (YEARS[i % min(len(YEARS), sizes.expensive_misses)],)  # all cached by the misses
        hits.append(timed(lambda: queries.fetch(EXPENSIVE_SQL, params)))
        tick(1)
    assert queries.stats.misses == sizes.expensive_misses, queries.stats
    miss, hit = summarize(misses), summarize(hits)
    return {"miss": miss, "hit": hit, "speedup": ratio(miss["p50_us"], hit["p50_us"])}


def _lookup(cache, db, sizes: Sizes, tick) -> dict:
    from helpers.caching import RecordCache
    from helpers.dataset import COLUMNS, EXOPLANETS, FIRST_ID, LOOKUP_SQL

    records = RecordCache(cache, db, table="exoplanet", columns=COLUMNS, ttl=600)  # keys exoplanet:<id>
    ids = [FIRST_ID + (i * 7919) % EXOPLANETS for i in range(sizes.lookups)]

    def database(id):
        with db.cursor() as cur:
            cur.execute(LOOKUP_SQL, (id,))
            return cur.fetchone()

    for id in set(ids):
        records.get(id)  # warm
    db_only, hits = [], []
    for id in ids:
        db_only.append(timed(lambda: database(id)))
        hits.append(timed(lambda: records.get(id)))
        tick(2)
    _delete(cache, {records.key(id) for id in ids})
    db_s, hit_s = summarize(db_only), summarize(hits)
    return {"database": db_s, "hit": hit_s, "speedup": ratio(db_s["p50_us"], hit_s["p50_us"])}


def parser_name() -> str:
    from redis.utils import HIREDIS_AVAILABLE

    return "hiredis" if HIREDIS_AVAILABLE else "python"


def run_suite(settings, sizes: Sizes, tick=lambda n: None) -> dict:
    """All measurements with this process's redis-py protocol code (hiredis or pure Python)."""
    from helpers.connections import cache_client, db_connection

    cache = cache_client(settings.redis_url)
    db = db_connection(settings)
    try:
        result = {"parser": parser_name(),
                  "hit_overhead": _hit_overhead(cache, db, sizes, tick),
                  "pipeline": _pipeline(cache, sizes, tick),
                  "expensive_query": _expensive_query(cache, db, sizes, tick),
                  "lookup": _lookup(cache, db, sizes, tick)}
        _delete(cache, list(cache.scan_iter(f"{PREFIX}:*", count=1000)))
        return result
    finally:
        cache.close()
        db.close()


def headline(run: dict) -> dict:
    return {"hit_overhead_ratio": run["hit_overhead"]["ratio"], "pipeline_speedup": run["pipeline"]["speedup"],
            "expensive_query_speedup": run["expensive_query"]["speedup"]}


def machine(settings) -> dict:
    import redis

    from helpers.connections import cache_client, db_connection

    model = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import hiredis
        hiredis_version = hiredis.__version__
    except ImportError:
        hiredis_version = None
    cache = cache_client(settings.redis_url)
    info = cache.info("server")
    cache.close()
    db = db_connection(settings)
    with db.cursor() as cur:
        cur.execute("SELECT VERSION() AS v")
        db_version = cur.fetchone()["v"]
    db.close()
    server = "valkey" if "valkey_version" in info else "redis"
    return {"cpu_count": os.cpu_count(), "cpu_model": model, "platform": platform.platform(),
            "python": platform.python_version(), "redis_py": redis.__version__, "hiredis": hiredis_version,
            "cache_server": f"{server} {info.get('valkey_version') or info.get('redis_version')}",
            "database_server": db_version, "mode": settings.mode}


def _sizes_json(sizes: Sizes) -> str:
    return json.dumps(dataclasses.asdict(sizes))


def run_without_hiredis(settings, sizes: Sizes) -> dict:
    """The suite in a child process where `import hiredis` fails, so redis-py packs and parses
    in pure Python (its own fallback when hiredis is not installed)."""
    env = {**os.environ, "LAB_MODE": settings.mode}
    out = subprocess.run([sys.executable, "-c", NO_HIREDIS, _sizes_json(sizes)], stdout=subprocess.PIPE,
                         text=True, timeout=1800, check=True, env=env)
    return json.loads(out.stdout)


def child_main() -> None:
    from tqdm import tqdm

    from helpers.config import load_settings

    sizes = Sizes(**json.loads(sys.argv[1]))
    with tqdm(total=sizes.operations(), desc="without hiredis", unit="op") as bar:
        result = run_suite(load_settings(), sizes, tick=bar.update)
    print(json.dumps(result))


def run(settings, sizes: Sizes = Sizes(), out: Path | None = None, echo=print) -> dict:
    """Load the data set, run the suite with and without hiredis, write the report; returns it."""
    from tqdm import tqdm

    from helpers.config import lab_dir
    from helpers.connections import db_connection
    from helpers.dataset import EXOPLANETS, OBSERVATIONS, VERSION, ensure_dataset

    db = db_connection(settings)
    try:
        with tqdm(total=EXOPLANETS + OBSERVATIONS, desc="data set", unit="row", leave=False) as bar:
            ensure_dataset(db, progress=bar.update)
    finally:
        db.close()
    runs = {}
    with tqdm(total=sizes.operations(), desc=f"with {parser_name()}", unit="op") as bar:
        runs[parser_name()] = run_suite(settings, sizes, tick=bar.update)
    if parser_name() == "hiredis":
        runs["python"] = run_without_hiredis(settings, sizes)
    first = next(iter(runs.values()))
    figures = headline(first)
    report = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "python -m helpers.bench" + ("" if sizes == Sizes() else " (custom sizes)"),
              "data_set": VERSION, "sizes": dataclasses.asdict(sizes), **figures,
              "headline_parser": first["parser"], "goals": check_goals(figures),
              "by_parser": {name: headline(r) for name, r in runs.items()},
              "runs": runs, "machine": machine(settings)}
    path = out or lab_dir() / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    echo(format_report(report))
    echo(f"written: {path}")
    return report


def format_report(report: dict) -> str:
    parsers = list(report["by_parser"])
    lines = [f"{'figure':<25}" + "".join(f"{p:>12}" for p in parsers) + f"{'goal':>10}  met"]
    for field, goal in report["goals"].items():
        values = "".join(f"{report['by_parser'][p][field]:>12.3f}" for p in parsers)
        lines.append(f"{field:<25}{values}{goal['goal']:>10}  {'yes' if goal['met'] else 'NO'}")
    m = report["machine"]
    lines.append(f"machine: {m['cpu_count']} x {m['cpu_model']}, Python {m['python']}, redis-py {m['redis_py']}, "
                 f"hiredis {m['hiredis'] or 'absent'}, {m['cache_server']}, MariaDB/MySQL {m['database_server']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from helpers.config import load_settings, resolve_mode

    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--out", type=Path, help="where to write the report (default: the lab's bench.json)")
    args = parser.parse_args(argv)
    if resolve_mode() == "local":
        from helpers.lab import ensure_running

        ensure_running()
    run(load_settings(), QUICK if args.quick else Sizes(), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

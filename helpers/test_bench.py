"""helpers.bench: its arithmetic without servers, and a tiny run against the real lab."""
import json

import pytest

from helpers import bench


def test_percentile_interpolates_between_the_nearest_ranks():
    assert bench.percentile([4, 1, 3, 2], 50) == 2.5
    assert bench.percentile([4, 1, 3, 2], 0) == 1
    assert bench.percentile([4, 1, 3, 2], 100) == 4
    assert bench.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert bench.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert bench.percentile([7.5], 99) == 7.5


@pytest.mark.parametrize("samples, q", [([], 50), ([1, 2], -1), ([1, 2], 101)])
def test_percentile_refuses_no_samples_and_impossible_ranks(samples, q):
    with pytest.raises(ValueError):
        bench.percentile(samples, q)


def test_summarize_reports_microseconds():
    summary = bench.summarize([0.001, 0.002, 0.003])
    assert summary == {"n": 3, "p50_us": 2000.0, "p95_us": 2900.0, "p99_us": 2980.0, "mean_us": 2000.0}


def test_ratio_and_its_guards():
    assert bench.ratio(110, 100) == 1.1
    assert bench.ratio(1, 3) == 0.333
    for numerator, denominator in ((1, 0), (1, -2), (-1, 2)):
        with pytest.raises(ValueError):
            bench.ratio(numerator, denominator)


def test_goals_compare_in_the_right_direction():
    goals = bench.check_goals({"hit_overhead_ratio": 1.2, "pipeline_speedup": 10.0,
                               "expensive_query_speedup": 49.9})
    assert {field: goal["met"] for field, goal in goals.items()} == {
        "hit_overhead_ratio": False, "pipeline_speedup": True, "expensive_query_speedup": False}
    assert goals["hit_overhead_ratio"]["goal"] == "<= 1.1"
    assert bench.check_goals({"hit_overhead_ratio": 1.05}) == {
        "hit_overhead_ratio": {"value": 1.05, "goal": "<= 1.1", "met": True}}


def test_interleaved_swaps_the_order_on_every_pair():
    calls, now = [], iter(range(100))
    first, second = bench.interleaved(lambda: calls.append("a"), lambda: calls.append("b"), 3,
                                      clock=lambda: next(now))
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert first == second == [1, 1, 1]


def test_sizes_count_the_operations_the_progress_bar_shows():
    sizes = bench.Sizes(hit_pairs=1, warmup_records=2, warmup_repeats=1, expensive_misses=3,
                        expensive_hits=4, lookups=5)
    assert sizes.operations() == 2 + 4 * 2 + 3 + 4 + 2 * 5


def test_quick_bench_against_the_lab(lab_settings, tmp_path):
    from helpers.connections import cache_client

    lines = []
    report = bench.run(lab_settings, bench.QUICK, out=tmp_path / "bench.json", echo=lines.append)
    assert json.loads((tmp_path / "bench.json").read_text()) == report
    for field in bench.GOALS:
        assert report[field] > 0 and field in report["goals"]
    first = report["runs"][report["headline_parser"]]
    assert first["pipeline"]["records"] == bench.QUICK.warmup_records
    assert first["expensive_query"]["miss"]["n"] == bench.QUICK.expensive_misses
    assert first["expensive_query"]["miss"]["p50_us"] > first["expensive_query"]["hit"]["p50_us"]
    if report["machine"]["hiredis"]:
        assert set(report["runs"]) == {"hiredis", "python"}
        assert report["runs"]["python"]["parser"] == "python"
    assert {"cpu_count", "cpu_model", "python", "redis_py", "cache_server", "database_server"} <= set(report["machine"])
    assert "hit_overhead_ratio" in lines[0]
    cache = cache_client(lab_settings.redis_url)
    assert not list(cache.scan_iter("bench:*")), "the bench left keys behind"
    assert not list(cache.scan_iter("exoplanet:*")), "the bench left record keys behind"

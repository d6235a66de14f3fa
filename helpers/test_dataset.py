"""helpers.dataset: the same rows everywhere, loaded once, and queries that answer on them."""
import datetime

from helpers import dataset


def test_rows_are_deterministic():
    first = list(dataset.exoplanet_rows(3))
    assert first == list(dataset.exoplanet_rows(3))
    assert [row[0] for row in first] == [1001, 1002, 1003]
    assert first[0][1].startswith(first[0][2])  # "<star> b"
    observations = list(dataset.observation_rows(1000))
    assert observations == list(dataset.observation_rows(1000))
    assert all(dataset.FIRST_ID <= o[1] < dataset.FIRST_ID + dataset.EXOPLANETS for o in observations)
    assert all(datetime.date(2009, 1, 1) <= o[2] <= datetime.date(2024, 12, 31) for o in observations)


def test_loaded_once_and_queries_answer(lab_settings):
    from helpers.connections import db_connection

    db = db_connection(lab_settings)
    try:
        dataset.ensure_dataset(db)
        assert dataset.loaded_version(db) == dataset.VERSION
        assert dataset.ensure_dataset(db) is False  # already there: nothing to do
        with db.cursor() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM observation")
            assert cur.fetchone()["n"] == dataset.OBSERVATIONS
            cur.execute(dataset.LOOKUP_SQL, (1001,))
            row = cur.fetchone()
            assert tuple(row) == dataset.COLUMNS
            assert tuple(row.values()) == next(dataset.exoplanet_rows(1))
            cur.execute(dataset.EXPENSIVE_SQL, (2016,))
            rows = cur.fetchall()
        assert [r["method"] for r in rows] == sorted(dataset.METHODS)
        assert 15_000 < sum(r["observations"] for r in rows) < 22_000  # about 1/16 of them per year
    finally:
        db.close()

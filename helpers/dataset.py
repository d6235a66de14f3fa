"""The larger data set of notebook 08 and `make bench`: made-up exoplanets and their observations.

    python -m helpers.dataset      # load it into this mode's database (idempotent, a few seconds)

10,000 exoplanets and 300,000 observations, generated from a fixed seed: the same rows on every
machine, so no big file is committed (data/exoplanets.sql defines the tables). A complete load
is marked by a version tag in the observation table's comment; a missing or different tag (a new
version, an interrupted load) means the tables are dropped and loaded again.
"""
from __future__ import annotations

import datetime
import random
import sys
from collections.abc import Callable, Iterator
from itertools import islice

from helpers.config import PROJECT_ROOT
from helpers.seed import load_sql

SCHEMA_SQL = PROJECT_ROOT / "data" / "exoplanets.sql"
SEED = 2024
EXOPLANETS = 10_000
OBSERVATIONS = 300_000
FIRST_ID = 1001  # exoplanet ids 1001..11000 (the planet table keeps 10..17)
VERSION = f"exoplanets v1 seed {SEED}: {EXOPLANETS} exoplanets, {OBSERVATIONS} observations"
BATCH = 5_000

# The expensive query: a join and an aggregate over every observation of one year (a full scan
# of 300,000 rows, tens of milliseconds on the lab's MariaDB). One cached result per year.
EXPENSIVE_SQL = """SELECT e.method, COUNT(*) AS observations, COUNT(DISTINCT o.exoplanet_id) AS planets,
       ROUND(AVG(o.brightness), 6) AS mean_brightness
FROM observation o JOIN exoplanet e ON e.id = o.exoplanet_id
WHERE YEAR(o.observed_on) = %s
GROUP BY e.method ORDER BY e.method"""
YEARS = tuple(range(2009, 2025))
# The cheap query: one row by primary key.
LOOKUP_SQL = "SELECT id, name, star, method, discovered, mass_earth, radius_earth, period_days FROM exoplanet WHERE id = %s"
COLUMNS = ("id", "name", "star", "method", "discovered", "mass_earth", "radius_earth", "period_days")

CATALOGS = ("Kepler", "K2", "TOI", "WASP", "HAT-P", "HD", "Gliese", "KELT", "XO", "CoRoT")
METHODS = ("transit", "radial velocity", "microlensing", "imaging", "astrometry")
METHOD_WEIGHTS = (75, 19, 3, 2, 1)
TELESCOPES = ("TESS", "Kepler", "CHEOPS", "JWST", "HARPS", "Hubble", "Spitzer", "Gaia")
FIRST_DAY = datetime.date(YEARS[0], 1, 1)
DAYS = (datetime.date(YEARS[-1], 12, 31) - FIRST_DAY).days + 1


def exoplanet_rows(count: int = EXOPLANETS, seed: int = SEED) -> Iterator[tuple]:
    """(id, name, star, method, discovered, mass_earth, radius_earth, period_days), deterministic."""
    rng = random.Random(seed)
    for i in range(count):
        star = f"{rng.choice(CATALOGS)}-{rng.randint(1, 9999)}"
        method = rng.choices(METHODS, weights=METHOD_WEIGHTS)[0]
        mass = round(rng.lognormvariate(2.0, 1.5), 3) if rng.random() < 0.7 else None  # NULL: unknown
        radius = round(rng.lognormvariate(1.0, 0.7), 3) if method == "transit" else None
        yield (FIRST_ID + i, f"{star} {'bcdefgh'[i % 7]}", star, method, rng.randint(1995, 2024),
               mass, radius, round(rng.lognormvariate(3.0, 1.2), 3))


def observation_rows(count: int = OBSERVATIONS, exoplanets: int = EXOPLANETS, seed: int = SEED) -> Iterator[tuple]:
    """(id, exoplanet_id, observed_on, telescope, brightness), deterministic."""
    rng = random.Random(seed + 1)
    for i in range(count):
        yield (i + 1, FIRST_ID + rng.randrange(exoplanets), FIRST_DAY + datetime.timedelta(rng.randrange(DAYS)),
               rng.choice(TELESCOPES), round(1 - abs(rng.gauss(0, 0.01)), 6))


def loaded_version(conn) -> str | None:
    """The version tag of a complete load, or None."""
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_COMMENT AS c FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'observation'")
        row = cur.fetchone()
    if row is None:
        return None
    return (row["c"] if isinstance(row, dict) else row[0]) or None


def _insert(conn, sql: str, rows: Iterator[tuple], progress: Callable[[int], None] | None) -> None:
    with conn.cursor() as cur:
        while batch := list(islice(rows, BATCH)):
            cur.executemany(sql, batch)  # PyMySQL sends one multi-row INSERT per batch
            if progress:
                progress(len(batch))


def ensure_dataset(conn, progress: Callable[[int], None] | None = None) -> bool:
    """Load the data set unless this exact version is there already. True if it loaded now.

    progress(n) is called after every batch of n rows (for a progress bar)."""
    if loaded_version(conn) == VERSION:
        return False
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS observation, exoplanet")
    load_sql(conn, SCHEMA_SQL)
    _insert(conn, "INSERT INTO exoplanet VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", exoplanet_rows(), progress)
    _insert(conn, "INSERT INTO observation VALUES (%s, %s, %s, %s, %s)", observation_rows(), progress)
    with conn.cursor() as cur:
        cur.execute("ANALYZE TABLE exoplanet, observation")  # fresh statistics for the planner
        cur.fetchall()
        cur.execute(f"ALTER TABLE observation COMMENT = '{VERSION}'")  # last: marks the load complete
    conn.commit()
    return True


def main() -> int:
    from tqdm import tqdm

    from helpers.connections import db_connection
    from helpers.config import load_settings

    conn = db_connection(load_settings())
    try:
        with tqdm(total=EXOPLANETS + OBSERVATIONS, unit="rows", desc="data set") as bar:
            loaded = ensure_dataset(conn, progress=bar.update)
    finally:
        conn.close()
    print(f"{VERSION}: {'loaded' if loaded else 'already loaded'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

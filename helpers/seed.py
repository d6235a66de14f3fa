"""Load the seed SQL in data/ with PyMySQL: the same code seeds the local MariaDB and RDS."""
from __future__ import annotations

from pathlib import Path

from helpers.config import PROJECT_ROOT

PLANET_SQL = PROJECT_ROOT / "data" / "planet.sql"
PLANETS = {10: "Mercury", 11: "Venus", 12: "Earth", 13: "Mars",
           14: "Jupiter", 15: "Saturn", 16: "Uranus", 17: "Neptune"}


def statements(sql_text: str) -> list[str]:
    """Split a seed file into statements: drop `--` comment lines, split on `;` at line ends."""
    body = "\n".join(line for line in sql_text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";")]


def load_sql(conn, path: Path = PLANET_SQL) -> int:
    """Run every statement of a seed file in one transaction; returns how many ran."""
    stmts = statements(path.read_text())
    with conn.cursor() as cur:
        for stmt in stmts:
            cur.execute(stmt.rstrip(";"))
    conn.commit()
    return len(stmts)

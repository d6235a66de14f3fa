from helpers.connections import db_connection
from helpers.seed import PLANET_SQL, PLANETS, load_sql, statements


def test_seed_file_parses_into_create_and_upsert():
    stmts = statements(PLANET_SQL.read_text())
    assert len(stmts) == 2
    assert "INT UNSIGNED NOT NULL AUTO_INCREMENT" in stmts[0] and "VARCHAR(30)" in stmts[0]
    assert "ON DUPLICATE KEY UPDATE" in stmts[1]


def test_seed_is_idempotent_and_restores_the_tutorial_rows(lab_settings):
    conn = db_connection(lab_settings)
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE planet SET name = 'Terra' WHERE id = 12")
        load_sql(conn)
        load_sql(conn)
        cur.execute("SELECT * FROM planet WHERE id BETWEEN 10 AND 17 ORDER BY id")
        rows = cur.fetchall()
    assert rows == [{"id": i, "name": n} for i, n in PLANETS.items()]

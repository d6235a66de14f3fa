"""Fast, advised failure: a wrong endpoint answers within 5 s and names the fix."""
import socket
import time

import pytest

from helpers.config import Settings
from helpers.connections import cache_client, db_connection, redact
from helpers.errors import LabConnectionError


def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.badinput
def test_cache_on_a_dead_port_fails_fast_with_the_fix():
    t0 = time.monotonic()
    with pytest.raises(LabConnectionError, match="nothing listens") as err:
        cache_client(f"redis://127.0.0.1:{dead_port()}/0")
    assert time.monotonic() - t0 < 5
    assert err.value.kind == "refused"


@pytest.mark.badinput
def test_database_on_a_dead_port_fails_fast_with_the_fix(lab_settings):
    settings = Settings(**{**vars(lab_settings), "db_port": dead_port()})
    t0 = time.monotonic()
    with pytest.raises(LabConnectionError, match="nothing listens"):
        db_connection(settings)
    assert time.monotonic() - t0 < 5


@pytest.mark.badinput
def test_wrong_database_password_says_check_db_pass(lab_settings):
    settings = Settings(**{**vars(lab_settings), "db_pass": "wrong"})
    with pytest.raises(LabConnectionError, match="DB_PASS") as err:
        db_connection(settings)
    assert lab_settings.db_pass not in str(err.value)


def test_cache_client_decodes_to_str(lab_settings):
    client = cache_client(lab_settings.redis_url)
    client.set("test:conn", "Cloud Computing", ex=5)
    assert client.get("test:conn") == "Cloud Computing"


def test_db_rows_are_dicts_as_the_tutorial_prints_them(lab_settings):
    with db_connection(lab_settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM planet WHERE id = 10")
        assert cur.fetchone() == {"id": 10, "name": "Mercury"}


def test_redact_hides_passwords():
    assert redact("rediss://:s3cret@host:6379/0") == "rediss://:***@host:6379/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"

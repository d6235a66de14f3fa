import pytest

from helpers.config import NAMES, ConfigError, read_env_file, resolve_mode, write_env_file


@pytest.mark.parametrize("env, mode", [
    ({}, "local"),
    ({"LAB_MODE": "aws"}, "aws"),
    ({"LAB_MODE": " AWS "}, "aws"),
    ({"REDIS_URL": "redis://cache:6379/0"}, "byo"),
    ({"DB_HOST": "db.example"}, "byo"),
    ({"LAB_MODE": "local", "REDIS_URL": "redis://127.0.0.1:7000/0"}, "local"),  # a sourced lab.env
    ({"REDIS_URL": ""}, "local"),
])
def test_mode_resolution(env, mode):
    assert resolve_mode(env) == mode


def test_unknown_mode_names_the_choices():
    with pytest.raises(ConfigError, match="local, aws, byo"):
        resolve_mode({"LAB_MODE": "cloud"})


def test_defaults_are_the_seed_names():
    assert (NAMES.region, NAMES.client_name, NAMES.client_type) == ("ap-south-1", "RedisClient-AL2023", "t3.micro")
    assert (NAMES.cache_id, NAMES.cache_node_type) == ("lab-redis", "cache.t4g.micro")
    assert (NAMES.client_sg, NAMES.cache_sg, NAMES.subnet_group) == ("SG-RedisClient", "SG-RedisCache", "redis-subnet-group")


def test_env_file_round_trip_is_private_and_shell_safe(tmp_path):
    path = tmp_path / "lab.env"
    values = {"DB_PASS": "a b'c$d", "REDIS_URL": "redis://127.0.0.1:1/0"}
    write_env_file(path, values, "header")
    assert read_env_file(path) == values
    assert path.stat().st_mode & 0o777 == 0o600


def test_local_settings_need_the_lab(tmp_path, monkeypatch):
    from helpers.config import load_settings

    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="make up"):
        load_settings({})


def test_settings_repr_hides_the_password(lab_settings):
    assert lab_settings.db_pass and lab_settings.db_pass not in repr(lab_settings)

"""helpers.eviction.wait_for_policy against the lab's real Valkey."""
import pytest

from helpers.connections import cache_client
from helpers.eviction import wait_for_policy


@pytest.fixture
def cache(lab_settings):
    client = cache_client(lab_settings.redis_url)
    before = client.config_get("maxmemory-policy")["maxmemory-policy"]
    yield client
    client.config_set("maxmemory-policy", before)


def test_returns_once_the_policy_is_in_force(cache):
    cache.config_set("maxmemory-policy", "allkeys-lru")
    assert wait_for_policy(cache, "allkeys-lru", timeout=1) < 1


def test_times_out_with_advice(cache):
    cache.config_set("maxmemory-policy", "volatile-lru")
    with pytest.raises(TimeoutError, match="still runs maxmemory-policy volatile-lru.*parameter group attached"):
        wait_for_policy(cache, "allkeys-lru", timeout=0.2, delay=0.05)

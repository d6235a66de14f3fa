import dataclasses
import uuid

import pytest

from helpers.aws import aws_client, lab_tags
from helpers.config import ConfigError
from helpers.connections import cache_client
from helpers.endpoints import connect_url, endpoint_url

TEST_REGION = "eu-west-3"  # not the notebooks' region: tests must not change what they find


def test_aws_mode_connects_to_the_primary_endpoint(lab_settings):
    aws = dataclasses.replace(lab_settings, mode="aws")
    address = "master.lab-redis.abc123.aps1.cache.amazonaws.com"
    assert connect_url(aws, address, 6379) == f"redis://{address}:6379/0"
    assert connect_url(aws, address, 6379, tls=True) == f"rediss://{address}:6379/0"
    assert endpoint_url("h", 6380, db=2) == "redis://h:6380/2"


def test_byo_mode_has_no_endpoint_to_map(lab_settings):
    with pytest.raises(ConfigError, match="REDIS_URL"):
        connect_url(dataclasses.replace(lab_settings, mode="byo"), "x.cache.amazonaws.com")


def test_local_mode_maps_only_emulated_names(lab_settings):
    with pytest.raises(ConfigError, match="not an emulated ElastiCache endpoint"):
        connect_url(lab_settings, "cache.example.com")


def test_the_emulators_endpoint_maps_to_the_labs_own_valkey(lab_settings):
    """Create a replication group in the emulator as notebook 02 does; its endpoint leads to a real server."""
    settings = dataclasses.replace(lab_settings, region=TEST_REGION)
    elasticache = aws_client("elasticache", settings)
    group_id = f"test-{uuid.uuid4().hex[:8]}"
    group = elasticache.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="unit test", Engine="redis",
        CacheNodeType="cache.t4g.micro", NumCacheClusters=1, Tags=lab_tags())["ReplicationGroup"]
    try:
        primary = group["NodeGroups"][0]["PrimaryEndpoint"]
        url = connect_url(settings, primary["Address"], primary["Port"])
        assert url == lab_settings.redis_url
        assert cache_client(url).ping() is True
    finally:
        elasticache.delete_replication_group(ReplicationGroupId=group_id)

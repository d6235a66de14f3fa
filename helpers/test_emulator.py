"""The emulator's ElastiCache deletes finish, as on AWS, so a second run can re-create lab-redis."""
import time

import pytest
from botocore.exceptions import ClientError

from helpers.aws import aws_client


@pytest.fixture
def elasticache(lab_settings):
    return aws_client("elasticache", lab_settings)


def test_deleted_replication_group_is_gone_after_a_moment(elasticache):
    name = f"emu-test-{int(time.time() * 1000) % 10**8}"
    elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription="t",
                                         CacheNodeType="cache.t4g.micro", Engine="redis", NumCacheClusters=1)
    elasticache.delete_replication_group(ReplicationGroupId=name)
    assert elasticache.describe_replication_groups(ReplicationGroupId=name)["ReplicationGroups"][0]["Status"] == "deleting"
    elasticache.get_waiter("replication_group_deleted").wait(
        ReplicationGroupId=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    # the same name can be created again
    elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription="t",
                                         CacheNodeType="cache.t4g.micro", Engine="redis", NumCacheClusters=1)
    elasticache.delete_replication_group(ReplicationGroupId=name)


def test_cache_subnet_group_can_be_deleted(elasticache, lab_settings):
    ec2 = aws_client("ec2", lab_settings)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    name = f"emu-test-sng-{int(time.time() * 1000) % 10**8}"
    elasticache.create_cache_subnet_group(CacheSubnetGroupName=name, CacheSubnetGroupDescription="t",
                                          SubnetIds=subnets)
    elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)
    with pytest.raises(ClientError, match="CacheSubnetGroupNotFound"):
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=name)
    with pytest.raises(ClientError, match="CacheSubnetGroupNotFound"):
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName=name)


def test_cache_parameter_group_changes_maxmemory_policy(elasticache):
    """Notebook 07's calls: create a group, set maxmemory-policy, attach it, detach, delete."""
    name = f"emu-test-pg-{int(time.time() * 1000) % 10**8}"
    created = elasticache.create_cache_parameter_group(
        CacheParameterGroupName=name, CacheParameterGroupFamily="redis7", Description="t",
        Tags=[{"Key": "lab", "Value": "test"}])["CacheParameterGroup"]
    assert (created["CacheParameterGroupName"], created["CacheParameterGroupFamily"]) == (name, "redis7")
    with pytest.raises(elasticache.exceptions.CacheParameterGroupAlreadyExistsFault):
        elasticache.create_cache_parameter_group(CacheParameterGroupName=name, CacheParameterGroupFamily="redis7",
                                                 Description="t")
    policy = {p["ParameterName"]: p for p in elasticache.describe_cache_parameters(
        CacheParameterGroupName=name)["Parameters"]}["maxmemory-policy"]
    assert (policy["ParameterValue"], policy["Source"]) == ("volatile-lru", "system")  # ElastiCache's default

    elasticache.modify_cache_parameter_group(CacheParameterGroupName=name, ParameterNameValues=[
        {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}])
    user = elasticache.describe_cache_parameters(CacheParameterGroupName=name, Source="user")["Parameters"]
    assert [(p["ParameterName"], p["ParameterValue"]) for p in user] == [("maxmemory-policy", "allkeys-lru")]
    with pytest.raises(elasticache.exceptions.InvalidParameterValueException, match="lru-please"):
        elasticache.modify_cache_parameter_group(CacheParameterGroupName=name, ParameterNameValues=[
            {"ParameterName": "maxmemory-policy", "ParameterValue": "lru-please"}])
    with pytest.raises(elasticache.exceptions.InvalidCacheParameterGroupStateFault):
        elasticache.modify_cache_parameter_group(CacheParameterGroupName="default.redis7", ParameterNameValues=[
            {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}])

    group = f"{name}-rg"
    elasticache.create_replication_group(ReplicationGroupId=group, ReplicationGroupDescription="t",
                                         CacheNodeType="cache.t4g.micro", Engine="redis", NumCacheClusters=1)
    try:
        with pytest.raises(elasticache.exceptions.CacheParameterGroupNotFoundFault):
            elasticache.modify_replication_group(ReplicationGroupId=group, CacheParameterGroupName="no-such-group",
                                                 ApplyImmediately=True)
        elasticache.modify_replication_group(ReplicationGroupId=group, CacheParameterGroupName=name,
                                             ApplyImmediately=True)
        with pytest.raises(elasticache.exceptions.InvalidCacheParameterGroupStateFault, match="in use"):
            elasticache.delete_cache_parameter_group(CacheParameterGroupName=name)
        elasticache.modify_replication_group(ReplicationGroupId=group, CacheParameterGroupName="default.redis7",
                                             ApplyImmediately=True)
    finally:
        elasticache.delete_replication_group(ReplicationGroupId=group)
    elasticache.delete_cache_parameter_group(CacheParameterGroupName=name)
    with pytest.raises(elasticache.exceptions.CacheParameterGroupNotFoundFault):
        elasticache.describe_cache_parameter_groups(CacheParameterGroupName=name)

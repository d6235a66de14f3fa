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

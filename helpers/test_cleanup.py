import dataclasses
import time
import uuid

import pytest

from helpers import cleanup
from helpers.aws import aws_client, lab_tags
from helpers.cleanup import LOCAL_TIMEOUT, forget, wait_until_gone
from helpers.state import load_state, update_state

TEST_REGION = "eu-west-3"  # not the notebooks' region: tests must not change what they find
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@pytest.fixture
def settings(lab_settings):
    return dataclasses.replace(lab_settings, region=TEST_REGION)


def test_a_cache_delete_finishes_in_local_mode_and_the_wait_succeeds(settings):
    elasticache = aws_client("elasticache", settings)
    group_id = f"test-{uuid.uuid4().hex[:8]}"
    elasticache.create_replication_group(ReplicationGroupId=group_id, ReplicationGroupDescription="unit test",
                                         Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheClusters=1,
                                         Tags=lab_tags())
    elasticache.delete_replication_group(ReplicationGroupId=group_id)
    start = time.monotonic()
    gone = wait_until_gone(elasticache.get_waiter("replication_group_deleted"), settings, what=group_id,
                           timeout=20 * 60, hint="h", status=lambda: "deleting", echo=pytest.fail,
                           ReplicationGroupId=group_id)
    assert gone is True and time.monotonic() - start < LOCAL_TIMEOUT
    with pytest.raises(elasticache.exceptions.ReplicationGroupNotFoundFault):
        elasticache.describe_replication_groups(ReplicationGroupId=group_id)


def test_a_delete_that_finishes_returns_true(settings):
    rds = aws_client("rds", settings)
    gone = wait_until_gone(rds.get_waiter("db_instance_deleted"), settings, what="none", timeout=60, hint="h",
                           echo=pytest.fail, DBInstanceIdentifier=f"test-{uuid.uuid4().hex[:8]}")
    assert gone is True


def test_a_delete_still_running_at_the_deadline_is_reported_not_fatal(settings, monkeypatch):
    """A running instance never satisfies `instance_terminated`: the wait ends at the local
    deadline (not the caller's 20 minutes) with the hint, and returns False."""
    monkeypatch.setattr(cleanup, "LOCAL_TIMEOUT", 2)
    ec2, ssm = aws_client("ec2", settings), aws_client("ssm", settings)
    ami_id = ssm.get_parameter(Name=AL2023)["Parameter"]["Value"]
    instance_id = ec2.run_instances(ImageId=ami_id, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                    TagSpecifications=[{"ResourceType": "instance", "Tags": lab_tags()}]
                                    )["Instances"][0]["InstanceId"]
    try:
        said = []
        start = time.monotonic()
        gone = wait_until_gone(ec2.get_waiter("instance_terminated"), settings, what="client", timeout=20 * 60,
                               hint="EC2 shows its state", echo=said.append, InstanceIds=[instance_id])
        assert gone is False and time.monotonic() - start < 2 + 3
        assert said == ["client was not ready after 2 s: EC2 shows its state; "
                        "going on (run this notebook again later to finish)"]
    finally:
        ec2.terminate_instances(InstanceIds=[instance_id])


def test_forget_clears_the_entries_of_deleted_resources(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    update_state("local", region="ap-south-1", vpc_id="vpc-1", client_sg_id="sg-1", instance_id="i-1",
                 ami_id="ami-1", cache_sg_id="sg-2", subnet_group="redis-subnet-group", cache_id="lab-redis",
                 cache_endpoint="x", cache_port=6379, redis_url="redis://x:6379/0", db_host="h", db_sg_id="sg-3")
    assert forget("local", remaining={"redis-subnet-group"}) == ["subnet_group"]
    assert load_state("local") == {"region": "ap-south-1", "vpc_id": "vpc-1", "subnet_group": "redis-subnet-group"}
    assert forget("local", remaining=set()) == []


def test_forget_works_without_a_state_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    assert forget("aws", remaining={"lab-mysql"}) == []

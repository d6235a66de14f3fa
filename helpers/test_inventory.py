import dataclasses
import uuid

import pytest

from helpers.aws import aws_client, lab_tags
from helpers.inventory import BILLED, ENDING, FREE, LabResource, lab_resources, split_arn, verdict

TEST_REGION = "eu-west-3"  # not the notebooks' region: tests must not change what they find
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@pytest.mark.parametrize("arn, parts", [
    ("arn:aws:ec2:ap-south-1:123456789012:instance/i-0abc", ("ec2", "instance", "i-0abc")),
    ("arn:aws:ec2:ap-south-1:123456789012:security-group/sg-1", ("ec2", "security-group", "sg-1")),
    ("arn:aws:elasticache:ap-south-1:123456789012:replicationgroup:lab-redis",
     ("elasticache", "replicationgroup", "lab-redis")),
    ("arn:aws:rds:ap-south-1:123456789012:db:lab-mysql", ("rds", "db", "lab-mysql")),
    ("arn:aws:elasticache:ap-south-1:123456789012:parametergroup:lab-eviction",
     ("elasticache", "parametergroup", "lab-eviction")),
])
def test_split_arn(arn, parts):
    assert split_arn(arn) == parts


def test_verdict_says_nothing_billable_only_when_true():
    group = LabResource("security group", "SG-RedisClient", "exists", FREE)
    cache = LabResource("cache", "lab-redis", "available", BILLED)
    ended = LabResource("EC2 instance", "RedisClient-AL2023", "terminated", ENDING)
    assert verdict([]) == ["nothing billable remains"]
    assert verdict([group, ended]) == ["nothing billable remains",
                                      "still there, free of charge: SG-RedisClient (security group)"]
    lines = verdict([group, cache, ended])
    assert lines[0].startswith("NOT clean: still billed: lab-redis (cache, available)")
    assert "nothing billable remains" not in " ".join(lines)


@pytest.fixture
def clients(lab_settings):
    settings = dataclasses.replace(lab_settings, region=TEST_REGION)
    return {name: aws_client(name, settings) for name in ("ec2", "elasticache", "rds", "ssm")} | {
        "tagging": aws_client("resourcegroupstaggingapi", settings)}


def tagged(clients, run):
    pages = clients["tagging"].get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "test-run", "Values": [run]}])
    return [m["ResourceARN"] for page in pages for m in page["ResourceTagMappingList"]]


def inventory(clients, run):
    """(kind, state, cost) of what the run's tag still finds."""
    return {(r.kind, r.state, r.cost) for r in lab_resources(tagged(clients, run), ec2=clients["ec2"],
                                             elasticache=clients["elasticache"], rds=clients["rds"])}


def test_a_partial_lab_is_listed_by_tag_and_judged_by_state(clients):
    """A security group, an instance and a cache: billed while they run. Right after the deletes the
    terminated instance is ending, but the `deleting` cache is still billed, as on AWS; once its
    delete has finished (seconds in the emulator) it drops out of the list."""
    ec2, elasticache = clients["ec2"], clients["elasticache"]
    run = uuid.uuid4().hex[:8]
    tags = lab_tags() + [{"Key": "test-run", "Value": run}]
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    sg_id = ec2.create_security_group(GroupName=f"test-{run}", Description="unit test", VpcId=vpc_id,
                                      TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]
    ami_id = clients["ssm"].get_parameter(Name=AL2023)["Parameter"]["Value"]
    instance_id = ec2.run_instances(ImageId=ami_id, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                    TagSpecifications=[{"ResourceType": "instance", "Tags": tags}]
                                    )["Instances"][0]["InstanceId"]
    elasticache.create_replication_group(ReplicationGroupId=f"test-{run}", ReplicationGroupDescription="unit test",
                                         Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheClusters=1,
                                         Tags=tags)
    try:
        assert inventory(clients, run) == {
            ("EC2 instance", "running", BILLED), ("cache", "available", BILLED), ("security group", "exists", FREE)}

        ec2.terminate_instances(InstanceIds=[instance_id])
        elasticache.delete_replication_group(ReplicationGroupId=f"test-{run}")
        ec2.delete_security_group(GroupId=sg_id)
        assert inventory(clients, run) == {("EC2 instance", "terminated", ENDING), ("cache", "deleting", BILLED)}
        assert verdict(lab_resources(tagged(clients, run), ec2=ec2, elasticache=elasticache, rds=clients["rds"]))[0] \
            == f"NOT clean: still billed: test-{run} (cache, deleting)"

        elasticache.get_waiter("replication_group_deleted").wait(
            ReplicationGroupId=f"test-{run}", WaiterConfig={"Delay": 1, "MaxAttempts": 15})
        assert inventory(clients, run) == {("EC2 instance", "terminated", ENDING)}
    finally:
        ec2.terminate_instances(InstanceIds=[instance_id])


def test_an_unknown_kind_counts_as_billed(clients):
    arn = "arn:aws:lambda:eu-west-3:123456789012:function:something"
    [resource] = lab_resources([arn], ec2=clients["ec2"], elasticache=clients["elasticache"],
                               rds=clients["rds"])
    assert resource.cost == BILLED and "check it" in resource.note


def test_a_parameter_group_is_free_and_drops_out_once_deleted(clients):
    """Notebook 07's lab-eviction: known, free of charge, and gone after its delete."""
    elasticache = clients["elasticache"]
    name = f"test-{uuid.uuid4().hex[:8]}"
    arn = elasticache.create_cache_parameter_group(
        CacheParameterGroupName=name, CacheParameterGroupFamily="redis7", Description="unit test",
        Tags=lab_tags())["CacheParameterGroup"]["ARN"]
    try:
        found = lab_resources([arn], ec2=clients["ec2"], elasticache=elasticache, rds=clients["rds"])
        assert found == [LabResource("cache parameter group", name, "exists", FREE)]
    finally:
        elasticache.delete_cache_parameter_group(CacheParameterGroupName=name)
    assert lab_resources([arn], ec2=clients["ec2"], elasticache=elasticache, rds=clients["rds"]) == []

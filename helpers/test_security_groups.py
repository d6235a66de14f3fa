import dataclasses
import uuid

import pytest

from helpers.aws import aws_client, lab_tags
from helpers.security_groups import admits_only, inbound_rules, open_to_world

TEST_REGION = "eu-west-3"  # not the notebooks' region: tests must not change what they find


@pytest.fixture
def ec2(lab_settings):
    return aws_client("ec2", dataclasses.replace(lab_settings, region=TEST_REGION))


@pytest.fixture
def groups(ec2):
    """SG-RedisClient and SG-RedisCache made as notebooks 01 and 02 make them (unique names)."""
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    run = uuid.uuid4().hex[:8]
    made = {}
    for role in ("client", "cache"):
        made[role] = ec2.create_security_group(
            GroupName=f"test-{role}-{run}", Description="unit test", VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": lab_tags()}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=made["cache"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": made["client"]}]}])
    yield vpc_id, made["client"], made["cache"], run
    for group_id in (made["cache"], made["client"]):
        ec2.delete_security_group(GroupId=group_id)


def world_rule(port, protocol="tcp", cidr="0.0.0.0/0"):
    ranges = {"Ipv6Ranges": [{"CidrIpv6": cidr}]} if ":" in cidr else {"IpRanges": [{"CidrIp": cidr}]}
    ports = {} if protocol == "-1" else {"FromPort": port, "ToPort": port}
    return {"IpProtocol": protocol, **ports, **ranges}


def mine(found, group_id):
    return [line for line in found if group_id in line]


def test_cache_group_admits_6379_only_from_the_client_group(ec2, groups):
    vpc_id, client_id, cache_id, run = groups
    assert admits_only(ec2, cache_id, 6379, client_id)
    assert inbound_rules(ec2, cache_id) == [f"tcp 6379 from test-client-{run}"]
    assert inbound_rules(ec2, client_id) == []
    assert mine(open_to_world(ec2, vpc_id), cache_id) == []


def test_a_world_rule_is_found_and_breaks_admits_only(ec2, groups):
    vpc_id, client_id, cache_id, _ = groups
    ec2.authorize_security_group_ingress(GroupId=cache_id, IpPermissions=[world_rule(6379)])
    assert not admits_only(ec2, cache_id, 6379, client_id)
    assert mine(open_to_world(ec2, vpc_id), cache_id) == [f"test-cache-{groups[3]} ({cache_id}): port 6379 from 0.0.0.0/0"]
    ec2.revoke_security_group_ingress(GroupId=cache_id, IpPermissions=[world_rule(6379)])
    assert admits_only(ec2, cache_id, 6379, client_id)


@pytest.mark.parametrize("rule, port", [
    (world_rule(3306, cidr="::/0"), 3306),
    (world_rule(None, protocol="-1"), 6379),  # "all traffic" covers every port
])
def test_ipv6_and_all_traffic_rules_count_as_open(ec2, groups, rule, port):
    vpc_id, client_id, _, _ = groups
    ec2.authorize_security_group_ingress(GroupId=client_id, IpPermissions=[rule])
    assert any(f"port {port} from" in line for line in mine(open_to_world(ec2, vpc_id), client_id))
    ec2.revoke_security_group_ingress(GroupId=client_id, IpPermissions=[rule])


def test_an_address_range_is_not_a_group_reference(ec2, groups):
    _, client_id, cache_id, _ = groups
    subnet_rule = world_rule(6379, cidr="172.31.0.0/16")
    ec2.authorize_security_group_ingress(GroupId=cache_id, IpPermissions=[subnet_rule])
    assert not admits_only(ec2, cache_id, 6379, client_id)
    ec2.revoke_security_group_ingress(GroupId=cache_id, IpPermissions=[subnet_rule])

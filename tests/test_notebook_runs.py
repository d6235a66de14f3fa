"""The notebooks themselves, executed with nbclient in a private lab (its own emulator, Valkey
and MariaDB): every notebook run twice without duplicates; AWS failures and a name clash
mid-provisioning that 99-cleanup still cleans up; every resource tagged, no port open to the
world; aws mode creating nothing billable unconfirmed; no secret in any output.

Timing: notebook 03 waits for a real 60-second expiry, so it runs once (first pass only).
"""
import json

import pytest

from helpers.aws import aws_client, lab_tags
from helpers.config import NAMES
from helpers.connections import db_connection
from helpers.inventory import BILLED, lab_resources, verdict
from helpers.security_groups import open_to_world
from helpers.seed import PLANETS
from private_lab import errors, module_lab, outputs

FIRST_PASS = ("00", "01", "02", "03", "04", "05", "06")
SECOND_PASS = ("00", "01", "02", "04", "05", "06")  # 03 once: it waits 60 s for a key to expire
WORLD_PORTS = (22, 6379, 3306)


def inject(service: str, operation: str, code: str) -> str:
    """A cell that makes every later boto3 call of `operation` fail as AWS would, with `code`."""
    return f"""
import boto3
from botocore.exceptions import ClientError


def injected_failure(**kwargs):
    raise ClientError({{"Error": {{"Code": "{code}", "Message": "injected by the fault test"}}}}, "{operation}")


boto3.setup_default_session()
boto3.DEFAULT_SESSION.events.register("before-call.{service}.{operation}", injected_failure)
"""


lab = module_lab("notebook-lab")


def clients(lab, region):
    settings = lab.settings(region=region)
    return {name: aws_client(name, settings) for name in
            ("ec2", "elasticache", "rds", "secretsmanager", "resourcegroupstaggingapi")}


def state(lab, mode="local"):
    path = lab.root / f"state-{mode}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def fresh_state(lab):
    for mode in ("local", "aws"):
        (lab.root / f"state-{mode}.json").unlink(missing_ok=True)


def resources(c) -> list[tuple[str, str, list]]:
    """(kind, name, tags) of everything in the region that is not AWS's own default."""
    found = []
    for r in c["ec2"].describe_instances()["Reservations"]:
        for i in r["Instances"]:
            if i["State"]["Name"] not in ("shutting-down", "terminated"):
                found.append(("instance", i["InstanceId"], i.get("Tags", [])))
    found += [("volume", v["VolumeId"], v.get("Tags", [])) for v in c["ec2"].describe_volumes()["Volumes"]]
    found += [("security group", g["GroupName"], g.get("Tags", []))
              for g in c["ec2"].describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"]
    ec = c["elasticache"]
    found += [("cache", g["ReplicationGroupId"], ec.list_tags_for_resource(ResourceName=g["ARN"])["TagList"])
              for g in ec.describe_replication_groups()["ReplicationGroups"]]
    found += [("cache subnet group", g["CacheSubnetGroupName"],
               ec.list_tags_for_resource(ResourceName=g["ARN"])["TagList"])
              for g in ec.describe_cache_subnet_groups()["CacheSubnetGroups"] if g["CacheSubnetGroupName"] != "default"]
    rds = c["rds"]
    found += [("database", d["DBInstanceIdentifier"], d.get("TagList", [])) for d in rds.describe_db_instances()["DBInstances"]]
    found += [("DB subnet group", g["DBSubnetGroupName"],
               rds.list_tags_for_resource(ResourceName=g["DBSubnetGroupArn"])["TagList"])
              for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]]
    # RDS's managed master-user secret is owned and deleted by RDS, and tagged by it (aws:rds:...).
    found += [("secret", s["Name"], s.get("Tags", [])) for s in c["secretsmanager"].list_secrets()["SecretList"]
              if {"Key": "aws:secretsmanager:owningService", "Value": "rds"} not in s.get("Tags", [])]
    return found


def untagged(found):
    return [(kind, name) for kind, name, tags in found if not all(t in tags for t in lab_tags())]


def left_by_tag(c):
    """What the lab's tags still find, looked up in each service (as 99-cleanup does)."""
    pages = c["resourcegroupstaggingapi"].get_paginator("get_resources").paginate(
        TagFilters=[{"Key": t["Key"], "Values": [t["Value"]]} for t in lab_tags()])
    arns = [m["ResourceARN"] for page in pages for m in page["ResourceTagMappingList"]]
    return lab_resources(arns, ec2=c["ec2"], elasticache=c["elasticache"], rds=c["rds"])


def planet_rows(lab):
    with db_connection(lab.settings()) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, name FROM planet ORDER BY id")
        return {row["id"]: row["name"] for row in cur.fetchall()}


@pytest.fixture(scope="module")
def twice(lab):
    """00-06 twice in order, a look at the emulator, then 99 twice; all in the notebooks' region."""
    fresh_state(lab)
    runs = {}
    for n, names in enumerate((FIRST_PASS, SECOND_PASS), start=1):
        for name in names:
            runs[f"{name}#{n}"] = lab.run_notebook(name)
    c = clients(lab, NAMES.region)
    before_cleanup = {"resources": resources(c), "open": open_to_world(c["ec2"], ports=WORLD_PORTS),
                      "state": state(lab), "planets": planet_rows(lab)}
    for n in (1, 2):
        runs[f"99#{n}"] = lab.run_notebook("99")
    after_cleanup = {"left": left_by_tag(c), "resources": resources(c), "state": state(lab)}
    return runs, before_cleanup, after_cleanup


# -- any notebook run twice: no crash, no duplicates

@pytest.mark.faults
def test_every_notebook_runs_twice_without_an_error(twice):
    runs, _, _ = twice
    assert {name: errors(nb) for name, nb in runs.items() if errors(nb)} == {}
    assert len(runs) == len(FIRST_PASS) + len(SECOND_PASS) + 2


@pytest.mark.faults
def test_the_second_run_reuses_instead_of_duplicating(twice):
    runs, before, _ = twice
    for name in ("01#2", "02#2", "04#2"):
        assert "exists already, reused" in outputs(runs[name]) and ": created" not in outputs(runs[name]), name
    kinds = {}
    for kind, name, _ in before["resources"]:
        kinds.setdefault((kind, name), 0)
        kinds[kind, name] += 1
    assert all(count == 1 for count in kinds.values()), kinds
    names = {(kind, name) for kind, name, _ in before["resources"]}
    assert {("security group", NAMES.client_sg), ("security group", NAMES.cache_sg), ("security group", NAMES.db_sg),
            ("cache", NAMES.cache_id), ("cache", NAMES.tls_cache_id), ("database", NAMES.db_id)} <= names
    assert [kind for kind, _, _ in before["resources"]].count("instance") == 1
    assert before["state"]["instance_id"] in {name for kind, name, _ in before["resources"] if kind == "instance"}


@pytest.mark.faults
def test_the_planet_data_survives_both_runs_unchanged(twice):
    _, before, _ = twice
    assert before["planets"] == PLANETS


@pytest.mark.faults
def test_cleanup_run_twice_leaves_nothing_billable_and_forgets_it(twice):
    runs, _, after = twice
    for name in ("99#1", "99#2"):
        assert "nothing billable remains" in outputs(runs[name])
    assert verdict(after["left"])[0] == "nothing billable remains"
    assert not [r for r in after["left"] if r.cost == BILLED]
    assert after["resources"] == []
    assert not {"cache_id", "tls_cache_id", "instance_id", "db_host", "cache_sg_id", "client_sg_id"} & set(after["state"])


# -- safety: tags, network, secrets

def test_every_created_resource_carries_the_lab_tag_and_owner(twice):
    _, before, _ = twice
    assert len(before["resources"]) >= 10  # instance, volume, 3 groups, 2 caches, 2 subnet groups, database
    assert untagged(before["resources"]) == []


def test_no_security_group_opens_ssh_cache_or_database_ports_to_the_world(twice):
    _, before, _ = twice
    assert before["open"] == []


def test_no_secret_appears_in_any_notebook_output(twice, lab):
    runs, _, _ = twice
    env = lab.env
    token = env["REDIS_TLS_URL"].split("://:", 1)[1].split("@", 1)[0]
    for name, nb in runs.items():
        text = outputs(nb) + "".join(c.source for c in nb.cells)
        for secret in (env["DB_PASS"], token):
            assert secret not in text, f"{name} shows a credential"
        assert "PRIVATE KEY" not in text and "AKIA" not in text, name


# -- an AWS error and a name clash mid-provisioning: cleanup still removes what exists

def cleanup_and_check(lab, region, **env):
    nb = lab.run_notebook("99", **{"AWS_REGION": region, **env})
    assert errors(nb) == [] and "nothing billable remains" in outputs(nb)
    c = clients(lab, region)
    assert [r for r in left_by_tag(c) if r.cost == BILLED] == []
    assert resources(c) == [] and open_to_world(c["ec2"], ports=WORLD_PORTS) == []
    return nb


@pytest.mark.faults
def test_a_cache_create_that_fails_mid_phase_2_is_cleaned_up(lab):
    region = "eu-west-1"
    fresh_state(lab)
    assert errors(lab.run_notebook("01", AWS_REGION=region)) == []
    nb = lab.run_notebook("02", AWS_REGION=region, expect_error=True,
                          insert=inject("elasticache", "CreateReplicationGroup", "InsufficientCacheClusterCapacity"))
    assert any("InsufficientCacheClusterCapacity" in e for e in errors(nb))
    recorded = state(lab)
    assert recorded["cache_sg_id"] and recorded["subnet_group"] == NAMES.subnet_group and "cache_id" not in recorded
    made = {(kind, name) for kind, name, _ in resources(clients(lab, region))}
    assert ("security group", NAMES.cache_sg) in made and ("cache", NAMES.cache_id) not in made
    cleanup_and_check(lab, region)


@pytest.mark.faults
def test_an_instance_launch_that_fails_mid_phase_1_is_cleaned_up(lab):
    region = "eu-central-1"
    fresh_state(lab)
    nb = lab.run_notebook("01", AWS_REGION=region, expect_error=True,
                          insert=inject("ec2", "RunInstances", "InstanceLimitExceeded"))
    assert any("InstanceLimitExceeded" in e for e in errors(nb))
    assert [name for kind, name, _ in resources(clients(lab, region))] == [NAMES.client_sg]
    cleanup_and_check(lab, region)


@pytest.mark.faults
def test_a_name_clash_with_a_hand_made_open_group_stops_phase_2_and_is_cleaned_up(lab):
    """Someone made an SG-RedisCache by hand, open to the world on 6379. Phase 2 finds it by
    name, refuses to go on (it must admit 6379 only from SG-RedisClient) and names the fix;
    cleanup then removes it with the rest."""
    region = "eu-west-2"
    fresh_state(lab)
    c = clients(lab, region)
    vpc_id = c["ec2"].describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    clash = c["ec2"].create_security_group(GroupName=NAMES.cache_sg, Description="made by hand", VpcId=vpc_id)["GroupId"]
    c["ec2"].authorize_security_group_ingress(GroupId=clash, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert errors(lab.run_notebook("01", AWS_REGION=region)) == []
    nb = lab.run_notebook("02", AWS_REGION=region, expect_error=True)
    [error] = errors(nb)
    assert "must have exactly one inbound rule, 6379 from SG-RedisClient" in error and "run this cell again" in error
    assert "exists already, reused" in outputs(nb) and open_to_world(c["ec2"]) != []
    cleanup_and_check(lab, region)


# -- billing: aws mode creates nothing billable without an explicit confirmation

def aws_env(lab, region, **extra):
    """aws mode, but every boto3 call still goes to the private emulator, with dummy keys."""
    return dict(LAB_MODE="aws", AWS_REGION=region, AWS_ENDPOINT_URL=lab.env["AWS_ENDPOINT_URL"],
                AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE="/dev/null",
                AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true", **extra)


@pytest.fixture
def aws_client_group(lab):
    """SG-RedisClient in the region (what notebook 01 makes), for notebook 02 in aws mode."""
    def make(region):
        ec2 = clients(lab, region)["ec2"]
        vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        ec2.create_security_group(GroupName=NAMES.client_sg, Description="client", VpcId=vpc_id,
                                  TagSpecifications=[{"ResourceType": "security-group", "Tags": lab_tags()}])
    return make


def test_aws_mode_run_all_creates_nothing_billable_without_confirmation(lab, aws_client_group):
    region = "us-west-2"
    fresh_state(lab)
    aws_client_group(region)
    nb = lab.run_notebook("02", expect_error=True, **aws_env(lab, region))
    [error] = errors(nb)
    assert error.startswith("NotConfirmed: not confirmed: nothing was created") and "LAB_CONFIRM=lab-redis" in error
    assert "Mode: aws." in outputs(nb) and "~$0.0200/hour" in outputs(nb)
    assert "cache" not in {kind for kind, _, _ in resources(clients(lab, region))}
    cleanup_and_check(lab, region, **aws_env(lab, region))


def test_aws_mode_creates_only_what_was_confirmed_and_cleanup_shows_its_cost(lab, aws_client_group):
    region = "us-east-1"  # the emulator writes `use1` into every endpoint; another region is a mismatch
    fresh_state(lab)
    aws_client_group(region)
    nb = lab.run_notebook("02", **aws_env(lab, region, LAB_CONFIRM=NAMES.cache_id))
    text = outputs(nb)
    assert "LAB_CONFIRM names lab-redis: creating it." in text
    assert "lab-redis-tls: not confirmed: nothing was created" in text and "LAB_CONFIRM=lab-redis-tls" in text
    c = clients(lab, region)
    assert {name for kind, name, _ in resources(c) if kind == "cache"} == {NAMES.cache_id}
    assert state(lab, "aws")["cache_created_at"]
    # 99 waits 30 s between checks in aws mode; the emulator's delete takes 2 s, so finish it here.
    c["elasticache"].delete_replication_group(ReplicationGroupId=NAMES.cache_id)
    c["elasticache"].get_waiter("replication_group_deleted").wait(
        ReplicationGroupId=NAMES.cache_id, WaiterConfig={"Delay": 1, "MaxAttempts": 15})
    cleanup = cleanup_and_check(lab, region, **aws_env(lab, region))
    assert "Approximate cost so far" in outputs(cleanup) and "lab-redis " in outputs(cleanup)

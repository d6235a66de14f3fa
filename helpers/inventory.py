"""What the lab's tag still finds, and whether any of it is billed.

99-cleanup lists the tagged ARNs with the Resource Groups Tagging API (a boto3 call in the
notebook); lab_resources() looks each one up in its own service, because the tagging index
can lag behind deletes and does not say whether a resource still runs.
"""
from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

BILLED, FREE, ENDING = "billed", "free", "ending"
# States in which AWS no longer bills an instance (it still shows in lists for about an hour).
INSTANCE_ENDED = ("shutting-down", "terminated")
# A cache or database is billed until its delete has finished (minutes on AWS), then it is gone.
STILL_DELETING = "billed until the delete finishes"


@dataclass(frozen=True)
class LabResource:
    kind: str
    name: str
    state: str
    cost: str  # BILLED | FREE | ENDING
    note: str = ""

    def __str__(self) -> str:
        return f"{self.kind:<20} {self.name:<22} {self.state:<12} {self.cost:<7} {self.note}".rstrip()


def split_arn(arn: str) -> tuple[str, str, str]:
    """(service, resource type, id): arn:aws:ec2:r:a:instance/i-1, arn:aws:rds:r:a:db:lab-mysql."""
    service, resource = arn.split(":", 5)[2], arn.split(":", 5)[5]
    kind, _, ident = resource.partition("/") if "/" in resource.split(":")[0] else resource.partition(":")
    return service, kind, ident


def _gone(error: ClientError) -> bool:
    return "NotFound" in error.response["Error"]["Code"]


def _billed_note(state: str) -> str:
    return STILL_DELETING if state == "deleting" else ""


def describe(arn: str, *, ec2, elasticache, rds) -> LabResource | None:
    """The resource behind one tagged ARN, or None if it no longer exists."""
    service, kind, ident = split_arn(arn)
    try:
        if (service, kind) == ("ec2", "instance"):
            inst = ec2.describe_instances(InstanceIds=[ident])["Reservations"][0]["Instances"][0]
            name = next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), ident)
            state = inst["State"]["Name"]
            if state in INSTANCE_ENDED:
                return LabResource("EC2 instance", name, state, ENDING, "not billed; AWS lists it for about an hour")
            return LabResource("EC2 instance", name, state, BILLED)
        if (service, kind) == ("ec2", "volume"):
            state = ec2.describe_volumes(VolumeIds=[ident])["Volumes"][0]["State"]
            return LabResource("EBS volume", ident, state, ENDING if state == "deleting" else BILLED)
        if (service, kind) == ("ec2", "security-group"):
            group = ec2.describe_security_groups(GroupIds=[ident])["SecurityGroups"][0]
            return LabResource("security group", group["GroupName"], "exists", FREE)
        if (service, kind) == ("elasticache", "replicationgroup"):
            state = elasticache.describe_replication_groups(ReplicationGroupId=ident)["ReplicationGroups"][0]["Status"]
            return LabResource("cache", ident, state, BILLED, _billed_note(state))
        if (service, kind) == ("elasticache", "cluster"):
            state = elasticache.describe_cache_clusters(CacheClusterId=ident)["CacheClusters"][0]["CacheClusterStatus"]
            return LabResource("cache node", ident, state, BILLED, _billed_note(state))
        if (service, kind) == ("elasticache", "subnetgroup"):
            elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=ident)
            return LabResource("cache subnet group", ident, "exists", FREE)
        if (service, kind) == ("elasticache", "parametergroup"):  # notebook 07's lab-eviction
            elasticache.describe_cache_parameter_groups(CacheParameterGroupName=ident)
            return LabResource("cache parameter group", ident, "exists", FREE)
        if (service, kind) == ("rds", "db"):
            state = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceStatus"]
            return LabResource("database", ident, state, BILLED, _billed_note(state))
        if (service, kind) == ("rds", "subgrp"):
            rds.describe_db_subnet_groups(DBSubnetGroupName=ident)
            return LabResource("DB subnet group", ident, "exists", FREE)
    except ClientError as e:
        if _gone(e):
            return None
        raise
    # Not a kind this lab creates: count it as billed until someone looks.
    return LabResource(f"{service} {kind}", ident, "unknown", BILLED, "not made by these notebooks: check it")


def lab_resources(arns, *, ec2, elasticache, rds) -> list[LabResource]:
    """The tagged resources that still exist, in a stable order."""
    found = [describe(arn, ec2=ec2, elasticache=elasticache, rds=rds) for arn in arns]
    return sorted((r for r in found if r), key=lambda r: (r.kind, r.name))


def verdict(resources: list[LabResource]) -> list[str]:
    """'nothing billable remains' only if no resource is billed; otherwise what still is, and the fix."""
    billed = [r for r in resources if r.cost == BILLED]
    if billed:
        return ["NOT clean: still billed: " + ", ".join(f"{r.name} ({r.kind}, {r.state})" for r in billed),
                "Re-run this notebook in a few minutes (deletes take time); if they stay, delete them in the console."]
    lines = ["nothing billable remains"]
    free = [r for r in resources if r.cost == FREE]
    if free:
        lines.append("still there, free of charge: " + ", ".join(f"{r.name} ({r.kind})" for r in free))
    return lines

"""Security-group checks in words: what a group admits, and whether anything is open to the world.

Used by notebook 02 (and the phase-3 pre-checks) to verify the seed's rule "SG-RedisCache
admits 6379 only from SG-RedisClient", and by tests that no group opens 6379 or 3306 to
0.0.0.0/0. They only read: every rule change stays in the notebooks, as boto3 calls.
"""
from __future__ import annotations

WORLD = ("0.0.0.0/0", "::/0")
GUARDED_PORTS = (6379, 3306)  # the cache and the database: never reachable from the internet


def _ports(perm: dict) -> str:
    if perm.get("IpProtocol") == "-1":
        return "all traffic"
    low, high = perm.get("FromPort"), perm.get("ToPort")
    return f"{perm['IpProtocol']} {low}" if low == high else f"{perm['IpProtocol']} {low}-{high}"


def _covers(perm: dict, port: int) -> bool:
    if perm.get("IpProtocol") == "-1":
        return True
    return perm.get("IpProtocol") == "tcp" and perm.get("FromPort", 0) <= port <= perm.get("ToPort", -1)


def sources(perm: dict, names: dict[str, str] | None = None) -> list[str]:
    """Each source of one IpPermissions entry: a CIDR, a prefix list, or a group by name."""
    names = names or {}
    found = [r["CidrIp"] for r in perm.get("IpRanges", [])]
    found += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
    found += [r["PrefixListId"] for r in perm.get("PrefixListIds", [])]
    found += [names.get(p["GroupId"], p["GroupId"]) for p in perm.get("UserIdGroupPairs", [])]
    return found


def group_names(ec2, group_ids) -> dict[str, str]:
    """{group id: group name} for ids that still exist."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": ids}])["SecurityGroups"]
    return {g["GroupId"]: g["GroupName"] for g in groups}


def inbound_rules(ec2, group_id: str) -> list[str]:
    """One line per inbound source, e.g. 'tcp 6379 from SG-RedisClient'."""
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    perms = group["IpPermissions"]
    names = group_names(ec2, [p["GroupId"] for perm in perms for p in perm.get("UserIdGroupPairs", [])])
    return [f"{_ports(perm)} from {src}" for perm in perms for src in sources(perm, names)]


def admits_only(ec2, group_id: str, port: int, source_group_id: str) -> bool:
    """True if the group has exactly one inbound rule: `port` from the source group (not a CIDR)."""
    perms = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    if len(perms) != 1:
        return False
    perm = perms[0]
    only_group = not (perm.get("IpRanges") or perm.get("Ipv6Ranges") or perm.get("PrefixListIds"))
    pairs = [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
    return (perm.get("IpProtocol") == "tcp" and perm.get("FromPort") == port == perm.get("ToPort")
            and only_group and pairs == [source_group_id])


def open_to_world(ec2, vpc_id: str | None = None, ports=GUARDED_PORTS) -> list[str]:
    """Every rule in the VPC (or the region) that admits one of `ports` from 0.0.0.0/0 or ::/0."""
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    found = []
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=filters):
        for group in page["SecurityGroups"]:
            for perm in group["IpPermissions"]:
                world = [s for s in sources(perm) if s in WORLD]
                found += [f"{group['GroupName']} ({group['GroupId']}): port {port} from {src}"
                          for port in ports if _covers(perm, port) for src in world]
    return found

"""One region for everything (seed 000, Phase 1, Step 1): spot a region mismatch before it
becomes a connection timeout.

In aws mode the lab's resources live in the region the notebooks ran in. If AWS_REGION later
names another one, boto3 finds nothing there and a client in one region cannot reach a cache
in another: the seed's "Connection timeout: wrong SG or region". setup() calls check_region()
in aws mode, so the first cell of every notebook names the fix instead.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from helpers.config import ConfigError, Settings

# ElastiCache writes the region as a short code in its endpoints: ap-south-1 -> aps1.
DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
              "northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}
# State-file keys that mean "a resource exists in the recorded region".
RESOURCE_KEYS = ("instance_id", "client_sg_id", "cache_sg_id", "subnet_group", "cache_id",
                 "tls_cache_id", "db_id", "db_host", "redis_url")


def region_code(region: str) -> str:
    """ElastiCache's short code of a region: ap-south-1 -> aps1, us-east-1 -> use1, eu-central-1 -> euc1."""
    parts = region.split("-")
    return parts[0] + "".join(DIRECTIONS.get(p, p) for p in parts[1:-1]) + parts[-1]


def endpoint_region(host: str | None) -> str | None:
    """The region (ElastiCache: its short code) named by an AWS endpoint host, or None.

        master.lab-redis.abc123.aps1.cache.amazonaws.com   -> aps1
        lab-mysql.abc123xyz.ap-south-1.rds.amazonaws.com   -> ap-south-1
    """
    labels = (host or "").lower().split(".")
    if labels[-3:] in (["cache", "amazonaws", "com"], ["rds", "amazonaws", "com"]) and len(labels) >= 5:
        return labels[-4]
    return None


def region_mismatches(settings: Settings, state: dict) -> list[str]:
    """Each place that names another region than settings.region, in words."""
    region, code = settings.region, region_code(settings.region)
    found = []
    recorded = state.get("region")
    if recorded and recorded != region and any(state.get(key) for key in RESOURCE_KEYS):
        found.append(f"the state file says the lab's resources are in {recorded}")
    for what, host in (("REDIS_URL", urlsplit(settings.redis_url or "").hostname), ("DB_HOST", settings.db_host)):
        named = endpoint_region(host)
        if named and named not in (region, code):
            found.append(f"{what} is an endpoint in {named} ({host})")
    return found


def check_region(settings: Settings, state: dict | None = None) -> None:
    """In aws mode, raise ConfigError naming the fix if anything points at another region."""
    if settings.mode != "aws":
        return  # local: the emulator; byo: the instructor's endpoints, no AWS calls
    if state is None:
        from helpers.state import load_state

        state = load_state("aws")
    found = region_mismatches(settings, state)
    if found:
        recorded = state.get("region") or "the region those endpoints name"
        raise ConfigError(f"region mismatch: this session uses {settings.region}, but " + "; ".join(found)
                          + f". Use one region for everything: set AWS_REGION={recorded} (or unset it), "
                          "or run 99-cleanup in that region before you start again in this one")

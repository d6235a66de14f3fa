"""Plumbing for notebook 07: wait until a parameter-group change has reached the cache node.

On ElastiCache a changed `maxmemory-policy` in the cache's parameter group is applied to the
node by AWS a little later, and CONFIG GET is refused; INFO memory reports the policy in force.
"""
from __future__ import annotations

import time


def wait_for_policy(cache, policy: str, timeout: float = 300, delay: float = 2.0,
                    clock=time.monotonic, sleep=time.sleep) -> float:
    """Poll INFO memory until maxmemory_policy is `policy`; returns the seconds waited.
    TimeoutError (naming what to check) after `timeout` seconds."""
    start = clock()
    while True:
        current = cache.info("memory").get("maxmemory_policy")
        if current == policy:
            return clock() - start
        if clock() - start >= timeout:
            raise TimeoutError(f"the cache still runs maxmemory-policy {current} after {timeout:.0f} s, not {policy}: "
                               "is the parameter group attached to the cache (describe_cache_clusters shows "
                               "CacheParameterGroup and its ParameterApplyStatus)?")
        sleep(delay)

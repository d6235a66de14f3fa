"""Plumbing for 99-cleanup: waiting for deletes, and the state file.

The deletes themselves are boto3 calls in the notebook. What lives here is the waiting (a
slow delete is reported, not fatal) and forgetting what is gone.
"""
from __future__ import annotations

from helpers.config import NAMES, Settings
from helpers.progress import wait_with_progress
from helpers.state import load_state, update_state

# The emulator finishes a delete within seconds (helpers.emulator.DELETE_DELAY); on AWS it takes minutes.
LOCAL_TIMEOUT, LOCAL_DELAY = 15, 1

# Which state-file keys describe which resource, so a deleted resource's entries are cleared.
STATE_KEYS = {
    NAMES.cache_id: ("cache_id", "cache_endpoint", "cache_port", "redis_url", "cache_node_type", "cache_created_at"),
    NAMES.tls_cache_id: ("tls_cache_id", "tls_cache_endpoint", "tls_cache_node_type", "tls_cache_created_at"),
    NAMES.subnet_group: ("subnet_group",),
    NAMES.cache_sg: ("cache_sg_id",),
    NAMES.client_name: ("instance_id", "ami_id", "instance_type", "instance_created_at"),
    NAMES.client_sg: ("client_sg_id",),
}
# Notebook 04 records the database; every key it writes starts with one of these.
DB_KEY_PREFIXES = ("db_", "rds_")


def wait_until_gone(waiter, settings: Settings, *, what: str, timeout: float, hint: str,
                    status=None, delay: float = 15, echo=print, **waiter_args) -> bool:
    """Wait for a delete to finish; False (with the reason printed) if it did not in time.

    A delete that is still running is not an error here: cleanup goes on with the next
    resource, and the final inventory says what is left.
    """
    if settings.mode == "local":
        timeout, delay = LOCAL_TIMEOUT, LOCAL_DELAY
    try:
        wait_with_progress(waiter, what=what, timeout=timeout, hint=hint, delay=delay, status=status,
                           **waiter_args)
        return True
    except TimeoutError as e:
        echo(f"{e}; going on (run this notebook again later to finish)")
        return False


def forget(mode: str, remaining: set[str]) -> list[str]:
    """Clear the state entries of every lab resource not in `remaining` (names); returns the
    resource keys the state file still records."""
    cleared = {key: None for name, keys in STATE_KEYS.items() if name not in remaining for key in keys}
    if NAMES.db_id not in remaining:
        cleared.update({key: None for key in load_state(mode) if key.startswith(DB_KEY_PREFIXES)})
    state = update_state(mode, **cleared)
    resource_keys = {key for keys in STATE_KEYS.values() for key in keys}
    return sorted(key for key in state if key in resource_keys or key.startswith(DB_KEY_PREFIXES))

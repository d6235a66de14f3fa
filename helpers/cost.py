"""What the lab's billable resources have cost so far, from the `*_created_at` times the
provisioning notebooks record in the state file.

    python -m helpers.cost          (the current mode; 99-cleanup prints the same lines)

Approximate on-demand prices (helpers.billing); AWS Billing is the authority.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from helpers.billing import GP2_USD_PER_GB_MONTH, HOURLY_USD
from helpers.config import NAMES

# (name, state key of the creation time, state key of the size, size if not recorded, storage GB)
BILLABLE = (
    (NAMES.client_name, "instance_created_at", "instance_type", NAMES.client_type, 0),
    (NAMES.cache_id, "cache_created_at", "cache_node_type", NAMES.cache_node_type, 0),
    (NAMES.tls_cache_id, "tls_cache_created_at", "tls_cache_node_type", NAMES.cache_node_type, 0),
    (NAMES.db_id, "db_created_at", "db_class", NAMES.db_class, 20),  # notebook 04: 20 GB gp2
)


def costs_so_far(state: dict, now: datetime | None = None) -> list[tuple[str, str, float, float]]:
    """(name, size, hours, USD) for each billable resource the state file records a creation time for."""
    now = now or datetime.now(timezone.utc)
    found = []
    for name, created_key, size_key, default_size, storage_gb in BILLABLE:
        created = state.get(created_key)
        if not created:
            continue
        size = state.get(size_key) or default_size
        hours = max((now - datetime.fromisoformat(created)).total_seconds() / 3600, 0.0)
        usd = hours * (HOURLY_USD[size] + storage_gb * GP2_USD_PER_GB_MONTH / 730)
        found.append((name, size, hours, usd))
    return found


def cost_lines(state: dict, mode: str, now: datetime | None = None) -> list[str]:
    found = costs_so_far(state, now)
    if not found:
        return ["The state file records no billable resource with its creation time: nothing to add up."]
    head = ("Approximate cost so far (on-demand prices; AWS Billing is the authority):" if mode == "aws" else
            f"{mode} mode: nothing is billed. On AWS the same resources for the same time would cost about:")
    lines = [head]
    lines += [f"  {name:<20} {size:<16} up {hours:7.2f} h  ~${usd:.4f}" for name, size, hours, usd in found]
    lines.append(f"  {'total so far':<51}  ~${sum(f[3] for f in found):.4f}")
    return lines


def main() -> int:
    from helpers.config import ConfigError, load_settings
    from helpers.state import load_state

    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"cost: {e}", file=sys.stderr)
        return 1
    for line in cost_lines(load_state(settings.mode), settings.mode):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cost estimates and the explicit confirmation that guards every billable create in aws mode.

Run All must never create a billable resource by accident: in aws mode confirm_billable()
asks the learner to type the resource's name (or reads LAB_CONFIRM), and raises otherwise.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from helpers.config import Settings

# Approximate on-demand prices, USD per hour, ap-south-1 (seed 000 gives ~$0.02/h for the cache).
# They change: the AWS pricing pages are the authority.
HOURLY_USD = {
    "cache.t4g.micro": 0.02,
    "db.t4g.micro": 0.02,
    "t3.micro": 0.0112,
}
GP2_USD_PER_GB_MONTH = 0.131  # RDS storage, approximate


class NotConfirmed(RuntimeError):
    """The learner did not confirm a billable create; nothing was created."""


def estimate_lines(resources: dict[str, str], storage_gb: int = 0) -> list[str]:
    """One line per resource and a total, per hour and per day: {name: instance class}."""
    lines, total = [], 0.0
    for name, size in resources.items():
        hourly = HOURLY_USD[size]
        total += hourly
        lines.append(f"{name:<20} {size:<16} ~${hourly:.4f}/hour  ~${hourly * 24:.2f}/day")
    if storage_gb:
        per_hour = storage_gb * GP2_USD_PER_GB_MONTH / 730
        total += per_hour
        lines.append(f"{'storage':<20} {f'{storage_gb} GB gp2':<16} ~${per_hour:.4f}/hour  ~${per_hour * 24:.2f}/day")
    lines.append(f"{'total':<37} ~${total:.4f}/hour  ~${total * 24:.2f}/day")
    return lines


def running_cost(size: str, created_at: str, now: datetime | None = None) -> float:
    """Approximate USD spent so far by one resource created at an ISO time."""
    now = now or datetime.now(timezone.utc)
    hours = (now - datetime.fromisoformat(created_at)).total_seconds() / 3600
    return max(hours, 0.0) * HOURLY_USD[size]


def confirm_billable(settings: Settings, name: str, resources: dict[str, str], storage_gb: int = 0,
                     ask=input) -> None:
    """Print the estimate; in aws mode require the typed name (or LAB_CONFIRM listing it)."""
    for line in estimate_lines(resources, storage_gb):
        print(line)
    if settings.mode != "aws":
        print(f"{settings.mode} mode: nothing here is billed, so no confirmation is needed.")
        return
    confirmed = [n.strip() for n in os.environ.get("LAB_CONFIRM", "").split(",")]
    if name in confirmed:
        print(f"LAB_CONFIRM names {name}: creating it.")
        return
    try:
        answer = ask(f"This creates billable resources. Type {name} to create them (anything else cancels): ")
    except (EOFError, OSError, RuntimeError):  # no way to ask: a headless run, or a frontend without input
        raise NotConfirmed(f"not confirmed: nothing was created. Nobody can be asked here: "
                           f"set LAB_CONFIRM={name} to confirm, or run this cell in JupyterLab and type {name}.") from None
    if answer.strip() != name:
        raise NotConfirmed(f"not confirmed: nothing was created. Re-run this cell and type {name} to go ahead.")

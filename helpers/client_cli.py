"""Phase 1's last check, `valkey-cli --version`, wherever the client runs.

aws mode: the instance's user data prints `valkey check: valkey-cli X.Y.Z` at first boot;
cloud-init copies it to the console output, which we poll (no SSH needed).
local mode: the emulated instance runs no software, so we run the lab's own valkey-cli,
found the way helpers.lab finds it.
"""
from __future__ import annotations

import re
import subprocess

from botocore.waiter import WaiterModel, create_waiter_with_client

from helpers.config import Settings
from helpers.lab import LabError, cache_binaries
from helpers.progress import wait_with_progress

MARKER = "valkey check: "  # the user data's echo line, so dnf's own output cannot match
VERSION = re.compile(r"(?:valkey|redis)-cli \d+\.\d+\.\d+")


def lab_cli_version() -> str:
    """The first line of `valkey-cli --version` of the lab's own client."""
    found = cache_binaries()
    if not found:
        raise LabError("no valkey-cli found: install valkey-tools (Debian) or valkey (brew, dnf), or run `make up`")
    out = subprocess.run([found[1], "--version"], capture_output=True, text=True, timeout=5)
    return out.stdout.strip().splitlines()[0]


def console_waiter(ec2):
    """A boto3 waiter that succeeds once the console output shows the user data's marker line."""
    model = WaiterModel({"version": 2, "waiters": {"ValkeyCliInstalled": {
        "operation": "GetConsoleOutput", "delay": 15, "maxAttempts": 40,
        "acceptors": [{"state": "success", "matcher": "path", "expected": True,
                       "argument": f"Output != null && contains(Output, '{MARKER}')"}],
    }}})
    return create_waiter_with_client("ValkeyCliInstalled", model, ec2)


def client_cli_version(settings: Settings, ec2, instance_id: str, timeout: float = 900) -> str:
    """What `valkey-cli --version` prints on the client, with where it ran."""
    if settings.mode == "local":
        return f"{lab_cli_version()}  (local mode: the lab's own valkey-cli; the emulated instance runs no software)"
    try:
        wait_with_progress(console_waiter(ec2), what="valkey install (user data)", timeout=timeout, delay=15,
                           hint="connect to the instance (Session Manager or an EC2 Instance Connect "
                                "Endpoint) and read /var/log/cloud-init-output.log",
                           InstanceId=instance_id, Latest=True)
    except TimeoutError as e:
        return f"not confirmed yet: {e}"
    output = ec2.get_console_output(InstanceId=instance_id, Latest=True).get("Output") or ""
    line = next(line for line in output.splitlines() if MARKER in line)
    found = VERSION.search(line)
    return f"{found.group() if found else line.split(MARKER, 1)[1]}  (read from the instance's console output)"

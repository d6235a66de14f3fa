"""boto3 clients for the current mode, for helper code and tests.

Notebooks write `boto3.client("ec2", region_name=...)` as a learner would; in local mode
setup() has pointed the environment at the emulator. Helper code calls aws_client() so it
works without that environment, and can never reach a real account in local mode.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from helpers.config import NAMES, ConfigError, Settings

def lab_tags(owner: str | None = None) -> list[dict[str, str]]:
    """The tags every lab resource carries: cleanup finds and proves by them."""
    import getpass
    import os

    owner = owner or os.environ.get("LAB_OWNER") or getpass.getuser()
    return [{"Key": NAMES.tag_key, "Value": NAMES.tag_value}, {"Key": "owner", "Value": owner}]


FAST = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2})


def aws_client(service: str, settings: Settings, config: Config = FAST):
    if settings.mode == "byo":
        raise ConfigError("byo mode has no AWS control plane: the instructor provisioned the servers")
    if settings.mode == "local":
        host = urlsplit(settings.aws_endpoint_url or "").hostname
        if host not in ("127.0.0.1", "localhost"):
            raise ConfigError(f"local mode must use the loopback emulator, not {settings.aws_endpoint_url!r}")
        return boto3.client(service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing", config=config)
    return boto3.client(service, region_name=settings.region, config=config)

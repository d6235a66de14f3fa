"""The notebooks' one setup cell: resolve the mode, make sure its servers answer, say what runs where."""
from __future__ import annotations

import os

from helpers.config import Settings, load_settings, resolve_mode

WHERE = {
    "local": "Mode: local. Valkey and MariaDB run on this machine (loopback); boto3 calls go to "
             "the AWS emulator on this machine. Nothing is billed.",
    "aws": "Mode: aws. boto3 calls reach your AWS account in {region}; billable steps ask first.",
    "byo": "Mode: byo. Cache and database come from REDIS_URL and DB_HOST; provisioning cells "
           "skip.",
}


def export_for_boto3(settings: Settings) -> None:
    """Local mode: point every boto3 client at the emulator with dummy keys, and drop any
    profile, so a notebook in local mode cannot reach a real account."""
    if settings.mode != "local":
        os.environ.setdefault("AWS_DEFAULT_REGION", settings.region)
        return
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(var, None)
    from helpers.config import lab_dir, read_env_file

    os.environ.update(read_env_file(lab_dir() / "lab.env"))


def setup(echo=print) -> Settings:
    """Start the local lab if it is down, export its endpoints, and print the mode."""
    if resolve_mode() == "local":
        from helpers.lab import ensure_running

        ensure_running(echo=lambda line: None)
    settings = load_settings()
    if settings.mode == "aws":
        from helpers.region import check_region

        check_region(settings)  # a region mismatch would surface later as a connection timeout
    export_for_boto3(settings)
    echo(WHERE[settings.mode].format(region=settings.region))
    return settings

"""Which database the data cells reach, and with which password (notebook 04 onwards).

- local: notebook 04 creates `lab-mysql` in the AWS emulator, whose endpoint has no server
  behind it. The data cells use the lab's own MariaDB instead (lab.env), as the cache cells
  use the lab's Valkey.
- aws:   the endpoint notebook 04 recorded in the state file, the master user, and the password
         from the RDS-managed secret in Secrets Manager (ManageMasterUserPassword=True). The
         password lives only in memory: it is never printed, logged or written to a file.
- byo:   the DB_* variables the instructor handed out, unchanged.
"""
from __future__ import annotations

import dataclasses
import json

from helpers.config import ConfigError, Settings
from helpers.state import load_state


def rds_secret(settings: Settings, secret_arn: str) -> dict:
    """The RDS-managed secret ({"username", "password"}); callers must not print it."""
    from helpers.aws import aws_client

    secrets = aws_client("secretsmanager", settings)
    return json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])


def database_settings(settings: Settings) -> Settings:
    """Settings whose db_* fields reach the tutorial database in this mode (see the module text)."""
    if settings.mode != "aws" or settings.db_pass:
        return settings
    state = load_state("aws")
    if not state.get("db_host") or not state.get("db_secret_arn"):
        raise ConfigError("no RDS database recorded for aws mode: run notebook 04 first "
                          "(or export DB_HOST, DB_USER, DB_PASS and DB_NAME)")
    secret = rds_secret(settings, state["db_secret_arn"])
    return dataclasses.replace(settings, db_host=state["db_host"], db_port=int(state.get("db_port", 3306)),
                               db_user=secret["username"], db_pass=secret["password"])

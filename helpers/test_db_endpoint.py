"""database_settings(): which database the data cells reach, and the password from the RDS secret."""
import dataclasses
import json
import uuid

import pytest

from helpers.aws import aws_client
from helpers.config import ConfigError
from helpers.db_endpoint import database_settings, rds_secret
from helpers.state import update_state


def test_local_and_byo_settings_are_used_unchanged(lab_settings):
    assert database_settings(lab_settings) is lab_settings
    byo = dataclasses.replace(lab_settings, mode="byo")
    assert database_settings(byo) is byo


def test_aws_mode_without_notebook_04_says_run_it(lab_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    aws = dataclasses.replace(lab_settings, mode="aws", db_pass=None, aws_endpoint_url=None)
    with pytest.raises(ConfigError, match="run notebook 04 first"):
        database_settings(aws)


def test_aws_mode_reads_the_password_from_the_rds_secret(lab_settings, tmp_path, monkeypatch):
    """The RDS-managed secret, made in the emulator; aws mode reaches it via AWS_ENDPOINT_URL."""
    secrets = aws_client("secretsmanager", lab_settings)
    arn = secrets.create_secret(Name=f"rds!db-test-{uuid.uuid4().hex[:8]}",
                                SecretString=json.dumps({"username": "admin", "password": "from-the-secret"}))["ARN"]
    monkeypatch.setenv("LAB_DIR", str(tmp_path))
    for var, value in (("AWS_ENDPOINT_URL", lab_settings.aws_endpoint_url), ("AWS_ACCESS_KEY_ID", "testing"),
                       ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    update_state("aws", db_host="lab-mysql.example.ap-south-1.rds.amazonaws.com", db_port=3306,
                 db_secret_arn=arn)
    aws = dataclasses.replace(lab_settings, mode="aws", db_pass=None, aws_endpoint_url=None)
    try:
        target = database_settings(aws)
        assert (target.db_host, target.db_port, target.db_user) == (
            "lab-mysql.example.ap-south-1.rds.amazonaws.com", 3306, "admin")
        assert target.db_pass == "from-the-secret"
        assert "from-the-secret" not in repr(target)
        assert rds_secret(aws, arn)["username"] == "admin"
    finally:
        secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)

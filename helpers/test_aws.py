import pytest

from helpers.aws import aws_client
from helpers.config import ConfigError, Settings


def test_local_mode_reaches_the_emulator(lab_settings):
    assert aws_client("sts", lab_settings).get_caller_identity()["Account"] == "123456789012"


def test_local_mode_refuses_a_non_loopback_endpoint(lab_settings):
    settings = Settings(**{**vars(lab_settings), "aws_endpoint_url": "https://ec2.ap-south-1.amazonaws.com"})
    with pytest.raises(ConfigError, match="loopback"):
        aws_client("ec2", settings)


def test_byo_mode_has_no_control_plane(lab_settings):
    with pytest.raises(ConfigError, match="byo"):
        aws_client("ec2", Settings(**{**vars(lab_settings), "mode": "byo"}))

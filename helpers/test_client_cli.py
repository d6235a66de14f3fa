import dataclasses
import re

import jmespath
import pytest
from botocore.exceptions import WaiterError

from helpers.aws import aws_client
from helpers.client_cli import MARKER, client_cli_version, console_waiter, lab_cli_version

TEST_REGION = "eu-west-3"  # not the notebooks' region: tests must not change what they find
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def test_the_labs_own_valkey_cli_prints_its_version():
    assert re.fullmatch(r"(valkey|redis)-cli \d+\.\d+\.\d+.*", lab_cli_version())


def test_local_mode_says_where_the_version_comes_from(lab_settings):
    line = client_cli_version(lab_settings, ec2=None, instance_id="i-unused")
    assert line.startswith(lab_cli_version()) and "local mode" in line


@pytest.mark.parametrize("output, done", [
    (None, False),
    ("cloud-init[1]: Installing valkey-8.0.3 ...", False),
    (f"cloud-init[1]: {MARKER}valkey-cli 8.0.3", True),
])
def test_the_console_waiter_waits_for_the_user_datas_marker(lab_settings, output, done):
    waiter = console_waiter(aws_client("ec2", lab_settings))
    [acceptor] = waiter.config.acceptors
    assert bool(jmespath.search(acceptor.argument, {"Output": output})) is done


def test_the_console_waiter_calls_get_console_output(lab_settings):
    """The emulator's console output has no marker: one attempt ends with 'Max attempts exceeded'."""
    ec2 = aws_client("ec2", dataclasses.replace(lab_settings, region=TEST_REGION))
    ssm = aws_client("ssm", dataclasses.replace(lab_settings, region=TEST_REGION))
    ami_id = ssm.get_parameter(Name=AL2023)["Parameter"]["Value"]
    instance_id = ec2.run_instances(ImageId=ami_id, InstanceType="t3.micro", MinCount=1,
                                    MaxCount=1)["Instances"][0]["InstanceId"]
    try:
        with pytest.raises(WaiterError, match="Max attempts exceeded"):
            console_waiter(ec2).wait(InstanceId=instance_id, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    finally:
        ec2.terminate_instances(InstanceIds=[instance_id])

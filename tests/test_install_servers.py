"""scripts/install-servers.sh: without root or sudo it prints the exact command, then stops."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-servers.sh"
TOOLS = ("bash", "id", "uname", "grep", "cat", "dirname", "apt-get")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user")
def test_without_root_it_prints_the_command_and_stops():
    # pytest's tmp_path sits under a 0700 folder the unprivileged user cannot enter.
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = Path(tmp) / "bin"  # a PATH with the shell tools but no valkey or redis
        bin_dir.mkdir()
        for tool in TOOLS:
            (bin_dir / tool).symlink_to(shutil.which(tool))
        Path(tmp).chmod(0o755)
        out = subprocess.run([shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                              str(bin_dir / "bash"), str(SCRIPT)],
                             env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "needs root" in out.stderr
    assert "apt-get install -y" in out.stderr and "valkey-server valkey-tools" in out.stderr


def test_with_everything_present_it_does_nothing():
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "present" in out.stdout

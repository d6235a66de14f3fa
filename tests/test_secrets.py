"""No credential in the repository: every tracked (or new, not ignored) file and every notebook
output is scanned for AWS keys, private keys, passwords and tokens, and for the current lab's
own DB_PASS and TLS AUTH token, which must never leave lab.env."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from helpers.config import lab_dir, read_env_file

ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    # password = "...", "AuthToken": "...": a quoted literal, not a variable or a placeholder
    "password": re.compile(r"(?i)\b(password|passwd|db_pass|auth_?token|secret_?key)\b['\"]?\s*[=:]\s*"
                           r"['\"](?![*<$%{]|your|\.\.\.)([^\s'\"]{8,})['\"]"),
    # DB_PASS=... in an env file or a shell line
    "password in an env line": re.compile(r"(?m)^\s*(?:export\s+)?(?:DB_PASS|PASSWORD|AUTH_TOKEN|REDISCLI_AUTH)="
                                          r"['\"]?(?![$<]|\.\.\.|your)([^\s'\"]{8,})"),
    # a password inside a URL, between the user name and the host
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+]*://[^\s/:@'\"]*:(?![*<${]|TOKEN@|PASS@)([^\s/@'\"]{8,})@"),
}
# Deliberately fake values in tests and lessons (each proves a wrong or missing secret is refused).
FAKES = {"lab-test-token-123", "not-the-password", "not-the-token", "testing", "from-the-secret"}


def repository_files() -> list[Path]:
    """Tracked files, plus new files git does not ignore (not committed yet, but about to be)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return sorted({ROOT / line for line in out.splitlines() if (ROOT / line).is_file()})


def readable_text(path: Path) -> str:
    """The file's text; for a notebook its sources and text outputs (not base64 images)."""
    text = path.read_bytes().decode("utf-8", errors="ignore")
    if path.suffix != ".ipynb":
        return text
    parts = []
    for cell in json.loads(text)["cells"]:
        parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts += ["".join(v) for k, v in out.get("data", {}).items() if k.startswith("text/")]
            parts.append(out.get("evalue", ""))
    return "\n".join(parts)


def findings(text: str) -> list[str]:
    found = []
    for what, pattern in CREDENTIALS.items():
        for match in pattern.finditer(text):
            value = match.group(match.lastindex or 0)
            if value not in FAKES:
                found.append(f"{what}: {match.group(0)[:60]}")
    return found


@pytest.fixture(scope="module")
def lab_secrets(lab_settings):
    env = read_env_file(lab_dir() / "lab.env")
    secrets = {"DB_PASS": lab_settings.db_pass}
    if env.get("REDIS_TLS_URL"):
        secrets["TLS AUTH token"] = env["REDIS_TLS_URL"].split("://:", 1)[1].split("@", 1)[0]
    return secrets


def test_the_scan_finds_what_it_looks_for():
    # Each sample is glued from pieces, so this file does not trip its own scan.
    key = "ASIA" + "ABCDEFGHIJKLMNOP"
    sample = "\n".join([f"key {key}", "aws_secret_access_key = " + "a1B2" * 10, "-----BEGIN " + "RSA PRIVATE KEY-----",
                        "password=" + '"hunter2hunter2"', "DB_PASS=" + "s3cr3tvalue", "AuthToken=" + '"q1w2e3r4t5y6u7i8"',
                        "rediss://:" + "AbCdEfGh1234@host:6379", "export DB_PASS=" + "Zx9kLm2Qp"])
    assert [f.split(":")[0] for f in findings(sample)] == [
        "AWS access key id", "AWS secret key", "private key", "password", "password",
        "password in an env line", "password in an env line", "password in a URL"]
    harmless = "\n".join(['password=target.db_pass', "DB_PASS=...", "rediss://:***@host", "rediss://:TOKEN@host",
                          "AuthToken=auth_token,", 'f"redis://:{PASSWORD}@127.0.0.1"', "rediss://:not-the-token@h",
                          'password="***"', "DB_PASS=$(cat secret)", 'password=f"{token}"', "    password=unquote(x)"])
    assert findings(harmless) == []


@pytest.mark.parametrize("path", repository_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_credentials_in_the_repository(path, lab_secrets):
    text = readable_text(path)
    assert findings(text) == []
    for what, secret in lab_secrets.items():
        assert secret not in text, f"{path.name} contains the lab's {what}"

"""The environment check of notebook 00: one OK/FAIL line per component, each with its fix."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from helpers.config import Settings

PACKAGES = ("jupyterlab", "ipywidgets", "redis", "PyMySQL", "boto3", "nbval")


@dataclass
class Check:
    component: str
    status: str  # OK | FAIL | SKIP
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<5}{self.component:<10}{self.detail}"


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_packages() -> Check:
    found, missing = [], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {major_minor(metadata.version(name))}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("packages", "FAIL", f"missing {', '.join(missing)}: run `make lab` (or pip install -e '.[test]')")
    return Check("packages", "OK", ", ".join(found))


def check_cache(settings: Settings) -> Check:
    from helpers.connections import cache_client

    if not settings.redis_url:
        return Check("cache", "FAIL", "REDIS_URL is not set (aws mode: run notebook 02)")
    try:
        info = cache_client(settings.redis_url).info("server")
    except Exception as e:  # noqa: BLE001 - every failure becomes a FAIL line with its fix
        return Check("cache", "FAIL", str(e))
    engine = "Valkey" if "valkey_version" in info else "Redis OSS"
    version = info.get("valkey_version") or info.get("redis_version", "?")
    return Check("cache", "OK", f"{engine} {major_minor(version)} answers PING")


def check_database(settings: Settings) -> Check:
    from helpers.connections import db_connection

    try:
        conn = db_connection(settings)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION() AS v")
            version = cur.fetchone()["v"]
            cur.execute("SELECT COUNT(*) AS n FROM planet")
            rows = cur.fetchone()["n"]
    except Exception as e:  # noqa: BLE001
        return Check("database", "FAIL", str(e) + _db_fix(e))
    engine = "MariaDB" if "mariadb" in version.lower() else "MySQL"
    return Check("database", "OK", f"{engine} {major_minor(version)}, `{settings.db_name}.planet` has {rows} rows")


def check_aws(settings: Settings) -> Check:
    if settings.mode == "byo":
        return Check("aws", "SKIP", "byo mode provisions nothing")
    from helpers.aws import aws_client

    try:
        sts = aws_client("sts", settings)
        account = sts.get_caller_identity()["Account"]
    except Exception as e:  # noqa: BLE001
        fix = "run `make up`" if settings.mode == "local" else "configure credentials (aws configure / AWS_PROFILE)"
        return Check("aws", "FAIL", f"{type(e).__name__}: {e}; {fix}")
    if settings.mode == "local":
        return Check("aws", "OK", f"emulator at {settings.aws_endpoint_url} (account {account}, region {settings.region})")
    return Check("aws", "OK", f"credentials work (account ending {account[-4:]}, region {settings.region})")


def _db_fix(exc: Exception) -> str:
    """The fix for a failure after connecting (a missing table, say); a LabConnectionError names its own."""
    from helpers.errors import FIXES, LabConnectionError, classify_db

    key = None if isinstance(exc, LabConnectionError) else classify_db(exc)
    return f" -> fix: {FIXES[key]}" if key else ""


def run_checks(settings: Settings) -> list[Check]:
    return [check_packages(), check_cache(settings), check_database(settings), check_aws(settings)]

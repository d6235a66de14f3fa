"""Modes, the seed's default names, and where each endpoint comes from.

One code path, three modes:
  local  the lab's own Valkey + MariaDB on loopback, moto server for the boto3 cells (default)
  aws    ElastiCache + RDS on a real account (LAB_MODE=aws)
  byo    endpoints an instructor hands out (REDIS_URL / DB_HOST set by the user)
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("local", "aws", "byo")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The tutorial's own variable names; lab.env uses them too.
ENDPOINT_VARS = ("REDIS_URL", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASS", "DB_NAME")


class ConfigError(RuntimeError):
    """A setting is missing or contradicts another; the message says what to do."""


@dataclass(frozen=True)
class Names:
    """The seed's names, so the notebooks and the console screenshots agree."""

    region: str = "ap-south-1"
    client_name: str = "RedisClient-AL2023"
    client_type: str = "t3.micro"
    client_sg: str = "SG-RedisClient"
    cache_id: str = "lab-redis"
    cache_node_type: str = "cache.t4g.micro"
    cache_sg: str = "SG-RedisCache"
    tls_cache_id: str = "lab-redis-tls"  # notebook 02's hardened variant (TLS + AUTH token)
    subnet_group: str = "redis-subnet-group"
    db_id: str = "lab-mysql"
    db_class: str = "db.t4g.micro"
    db_sg: str = "SG-RDS-MySQL"
    db_name: str = "tutorial"
    # Every AWS resource carries this tag, so cleanup can prove what is left.
    tag_key: str = "lab"
    tag_value: str = "elasticache-caching-lab"


NAMES = Names()


def lab_dir() -> Path:
    """Where the local lab keeps its data, pids and lab.env (LAB_DIR overrides, for tests)."""
    return Path(os.environ.get("LAB_DIR") or PROJECT_ROOT / ".lab").resolve()


def resolve_mode(env: dict | None = None) -> str:
    """LAB_MODE wins; otherwise endpoints the user set mean byo; otherwise local."""
    env = os.environ if env is None else env
    mode = (env.get("LAB_MODE") or "").strip().lower()
    if mode:
        if mode not in MODES:
            raise ConfigError(f"LAB_MODE={mode!r} is not one of {', '.join(MODES)}")
        return mode
    if env.get("REDIS_URL") or env.get("DB_HOST"):
        return "byo"
    return "local"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a shell-sourceable KEY=VALUE file (as written by write_env_file)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, _, raw = line.partition("=")
        parts = shlex.split(raw) if raw else [""]
        values[key.strip()] = parts[0] if parts else ""
    return values


def write_env_file(path: Path, values: dict[str, str], header: str) -> None:
    """Write KEY=VALUE lines a shell can source; readable only by the owner (it holds a password)."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"export {k}={shlex.quote(str(v))}" for k, v in values.items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


@dataclass
class Settings:
    mode: str
    region: str
    redis_url: str | None
    db_host: str | None
    db_port: int
    db_user: str | None
    db_pass: str | None = field(repr=False)  # never shown by repr()
    db_name: str
    aws_endpoint_url: str | None = None

    @property
    def provisions(self) -> bool:
        """Whether the boto3 cells run (against real AWS or the emulator)."""
        return self.mode in ("local", "aws")


def load_settings(env: dict | None = None) -> Settings:
    """Settings for the current mode. Local mode reads .lab/lab.env written by `make up`."""
    env = dict(os.environ if env is None else env)
    mode = resolve_mode(env)
    if mode == "local":
        env_file = lab_dir() / "lab.env"
        if not env_file.exists():
            raise ConfigError(f"the local lab is not set up ({env_file} is missing): run `make up`")
        env = {**env, **read_env_file(env_file)}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or NAMES.region
    if mode == "aws":
        # Endpoints come from the state file the provisioning notebooks write; env wins if set.
        from helpers.state import load_state

        state = load_state("aws")
        env.setdefault("REDIS_URL", state.get("redis_url") or "")
        env.setdefault("DB_HOST", state.get("db_host") or "")
        env.setdefault("DB_PORT", str(state.get("db_port") or 3306))
        env.setdefault("DB_USER", state.get("db_user") or "")
    return Settings(
        mode=mode,
        region=region,
        redis_url=env.get("REDIS_URL") or None,
        db_host=env.get("DB_HOST") or None,
        db_port=int(env.get("DB_PORT") or 3306),
        db_user=env.get("DB_USER") or None,
        db_pass=env.get("DB_PASS") or None,
        db_name=env.get("DB_NAME") or NAMES.db_name,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") if mode == "local" else None,
    )

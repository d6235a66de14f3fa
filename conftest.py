"""Shared pytest fixtures: the lab's real servers, never fakes."""
import os

import pytest


@pytest.fixture(scope="session")
def lab_settings():
    """Settings of the project's local lab, started if it is down (tests use the real servers)."""
    from helpers.config import load_settings
    from helpers.lab import ensure_running

    if os.environ.get("LAB_MODE", "local") != "local":
        pytest.skip("helper tests run against the local lab only")
    ensure_running(echo=lambda line: None)
    return load_settings({"LAB_MODE": "local"})

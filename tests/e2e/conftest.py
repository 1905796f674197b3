"""Rehearsal hosts for the session (Debian 12 and 13) and the real pyinfra CLI against them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import testinfra

from agenthost import engine, rehearsal
from tests.e2e.runner import SET


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)

    def order(item) -> tuple[bool, bool]:
        # Unit tests first; then test_deploy, which proves the first converge of fresh hosts
        # (one with an operator's prior state), before any other module deploys to them.
        path = Path(str(item.fspath))
        return path.is_relative_to(here), path != here / "test_deploy.py"

    items.sort(key=order)


@pytest.fixture(scope="session")
def hosts() -> list[rehearsal.Host]:
    engine.ensure_engine()
    started = rehearsal.up(SET, {"bookworm": 1, "trixie": 1})
    yield started
    if not os.environ.get("AGENTHOST_KEEP_HOSTS"):
        rehearsal.down(SET)


@pytest.fixture(scope="session")
def remote(hosts) -> dict[str, testinfra.host.Host]:
    """testinfra hosts by name, over the SSH config `up` wrote."""
    ssh_config = str(rehearsal.state_dir(SET) / "ssh_config")
    return {h.name: testinfra.get_host(f"ssh://{h.name}", ssh_config=ssh_config) for h in hosts}

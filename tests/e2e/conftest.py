"""Rehearsal hosts for the session (Debian 12 and 13) and the real pyinfra CLI against them."""

from __future__ import annotations

from pathlib import Path

import pytest
import testinfra

from agenthost_lab import state
from tests.e2e.runner import SET, deploy, rehearsal_hosts


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
def hosts() -> list[state.Host]:
    with rehearsal_hosts(SET, {"bookworm": 1, "trixie": 1}) as started:
        yield started


@pytest.fixture(scope="session")
def remote(hosts) -> dict[str, testinfra.host.Host]:
    """testinfra hosts by name, over the SSH config `up` wrote."""
    ssh_config = str(state.state_dir(SET) / "ssh_config")
    return {h.name: testinfra.get_host(f"ssh://{h.name}", ssh_config=ssh_config) for h in hosts}


@pytest.fixture(scope="module")
def converged(hosts):
    """The session hosts converged by `pyinfra -y inventory/rehearsal.py deploy.py`."""
    run = deploy()
    assert run.returncode == 0, run.output
    return run

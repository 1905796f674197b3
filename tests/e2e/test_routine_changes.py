"""What an operator does in a normal week changes nothing that agenthost owns.

On the session hosts (Debian 12 and 13), converged with an agent container: users added by
`useradd` and `adduser` get their own subordinate ids after the agent's lines; drift then sees
nothing, and the next `pyinfra INVENTORY deploy.py`, without -y and without a terminal, asks
nothing, changes nothing and restarts neither dockerd nor the agent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agenthost.confirm import NOTHING_TO_CONFIRM
from agenthost.paths import SUBID_FILES
from tests.e2e.drift_support import AGENT_IMAGE, build_agent_image
from tests.e2e.runner import PYINFRA, REPO, SET, deploy, write_inventory

AGENT = "agent"
ADDED = {"useradd": "useradd -m carol", "adduser": "adduser --disabled-password --gecos '' dave"}
# What a restart of either would change: dockerd's start, the agent's start.
STARTS = (
    "systemctl show -p ActiveEnterTimestampMonotonic --value docker",
    f"docker inspect -f '{{{{.State.StartedAt}}}}' {AGENT}",
)


def starts_and_ids(remote) -> dict[str, tuple[str, ...]]:
    """Per host: dockerd's and the agent's start times, and the subid files."""
    files = tuple(f"cat {path}" for path in SUBID_FILES)
    return {name: tuple(host.check_output(c) for c in (*STARTS, *files))
            for name, host in remote.items()}  # fmt: skip


@pytest.fixture(scope="module")
def inventory(hosts, tmp_path_factory) -> Path:
    """The session hosts with a small agent container (the drift check's busybox image)."""
    directory = tmp_path_factory.mktemp("routine")
    data = {
        "docker_image_preload": [str(build_agent_image(directory))],
        "agent_containers": [{"name": AGENT, "image": AGENT_IMAGE, "memory": "256m",
                              "stop_timeout": 10}],
    }  # fmt: skip
    return write_inventory(directory / "inventory.py", data)


@pytest.fixture(scope="module")
def users_added(inventory, remote) -> dict[str, tuple[str, ...]]:
    """Converged, then a user added each way on every host; what the hosts show after that."""
    run = deploy(inventory=inventory)
    assert run.returncode == 0, run.output[-3000:]
    for host in remote.values():
        for command in ADDED.values():
            host.run_expect([0], command)
    after = starts_and_ids(remote)
    for name, (*_, subuid, subgid) in after.items():
        for text in (subuid, subgid):  # each got a range after the agent's (the old rule's trap)
            owners = [line.split(":")[0] for line in text.splitlines()]
            assert owners[-2:] == ["carol", "dave"] and "jenkins" in owners, (name, text)
    return after


def test_drift_sees_no_drift_after_users_were_added(hosts, inventory, users_added):
    process = subprocess.run(
        [sys.executable, "-m", "agenthost", "drift", str(inventory)],
        cwd=REPO, capture_output=True, text=True, env={**_env(), "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    for host in hosts:
        assert f"{host.name}: no drift" in process.stdout


def test_the_next_run_without_y_or_terminal_asks_nothing_and_changes_nothing(
    hosts, inventory, remote, users_added
):
    process = subprocess.run(
        [PYINFRA, str(inventory), "deploy.py"], cwd=REPO, env=_env(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
    )  # fmt: skip
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-3000:]
    assert NOTHING_TO_CONFIRM in output and "Press enter" not in output
    # Results: Grand total, hosts, success (changed), error, no change.
    total = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", output)
    assert total and total.group(2, 3) == ("-", "-"), output[-3000:]
    assert total.group(1) == total.group(4)
    assert starts_and_ids(remote) == users_added, "dockerd, the agent or the subid files changed"


def _env() -> dict[str, str]:
    return {**os.environ, "AGENTHOST_REHEARSAL_SET": SET}

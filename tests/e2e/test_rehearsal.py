"""`agenthost rehearsal up`, `reboot` and `down` as an operator runs them: hosts on loopback
only, on the same port after a reboot, and `down` leaves nothing of the set behind while another
set's hosts stay."""

import json
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from agenthost_lab import rehearsal, state
from tests.e2e.runner import REPO, SET_PREFIX
from tests.e2e.runner import SET as E2E_SET

AGENTHOST = str(Path(sys.executable).with_name("agenthost"))
SET = f"{SET_PREFIX}e2e-lifecycle"


def agenthost(*args: str) -> str:
    process = subprocess.run([AGENTHOST, "rehearsal", *args], cwd=REPO, capture_output=True,
                             text=True, timeout=900)  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout + process.stderr


def ours(client: docker.DockerClient, set_name: str) -> dict[str, list[str]]:
    selector = {"label": f"{rehearsal.SET_LABEL}={set_name}"}
    return {
        "containers": [c.name for c in client.containers.list(all=True, filters=selector)],
        "volumes": [v.name for v in client.volumes.list(filters=selector)],
        "networks": [n.name for n in client.networks.list(filters=selector)],
    }


@pytest.fixture
def lifecycle(hosts):
    output = agenthost("up", "--set", SET, "--hosts", "1", "--release", "trixie")
    yield output
    rehearsal.down(SET)


def test_up_publishes_ssh_on_loopback_only_and_down_removes_everything(hosts, lifecycle):
    client = docker.from_env()
    (host,) = state.load_hosts(SET)
    container = client.containers.get(host.name)
    bindings = container.attrs["HostConfig"]["PortBindings"]["22/tcp"]
    # Loopback only, on the port chosen at `up` (kept across restarts, not Docker's pick).
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(host.port)}]
    assert f"127.0.0.1:{host.port}" in lifecycle
    ssh = subprocess.run(
        ["ssh", "-F", str(state.state_dir(SET) / "ssh_config"), host.name,
         "systemctl is-active ssh; . /etc/os-release; echo $VERSION_CODENAME"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ssh.stdout.split() == ["active", "trixie"], ssh.stderr
    assert all(ours(client, SET).values())

    agenthost("reboot", "--set", SET)  # the container restarts: the same port, SSH back
    assert state.load_hosts(SET) == [host]
    published = client.containers.get(host.name).attrs["NetworkSettings"]["Ports"]["22/tcp"]
    assert published == [{"HostIp": "127.0.0.1", "HostPort": str(host.port)}]
    again = subprocess.run(ssh.args, capture_output=True, text=True, timeout=60)
    assert again.stdout.split() == ["active", "trixie"], again.stderr

    agenthost("down", "--set", SET)

    assert ours(client, SET) == {"containers": [], "volumes": [], "networks": []}
    assert not (state.state_dir(SET) / "hosts.json").exists()
    others = json.loads((state.state_dir(E2E_SET) / "hosts.json").read_text())["hosts"]
    assert [c.status for c in map(client.containers.get, [h["name"] for h in others])] == [
        "running"
    ] * len(others), "another set's hosts are untouched"

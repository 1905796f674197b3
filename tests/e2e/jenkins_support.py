"""What test_jenkins shares: the settings of each mode, the agents' keys and known hosts, and
the replay of one cell of the README's "Connecting Jenkins" table."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agenthost_lab import agent_image, pipeline, state
from tests.e2e import escapes
from tests.e2e.runner import PYINFRA, REPO, SET, deploy, write_inventory

WORKSPACE = "/var/lib/agenthost/workspace"
AGENT, INBOUND = "ci-agent", "jenkins-inbound"
IMAGE = agent_image.TAG
SECRET = "inbound-secret-0815"
PROXY_PASSWORD = "proxy-pw-4711"
PROXY = f"http://ci:{PROXY_PASSWORD}@proxy.invalid:3128"
AS_AGENT = "-u $(id -u):$(id -g)"
# (agent kind, mode) -> (flows that fail unchanged, the change: .inside() args, sibling options)
CELLS = {
    ("ssh", "root"): ({"inside": "Permission denied"}, ("-u 0:0", "")),
    ("container", "root"): ({}, ("", "")),
    # The sibling's root is an id of the second range: its files are not the agent's to delete.
    ("ssh", "uid"): ({"deleteDir": "Permission denied"}, ("", AS_AGENT)),
    ("container", "uid"): ({"deleteDir": "Permission denied"}, ("", AS_AGENT)),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("jenkins")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "controller@e2e",
                    "-f", str(directory / "controller")], check=True)  # fmt: skip
    (directory / "inbound.env").write_text(
        f"JENKINS_URL=https://jenkins.invalid/\nJENKINS_SECRET={SECRET}\n"
        "JENKINS_AGENT_NAME=inbound-1\nJENKINS_WEB_SOCKET=true\n"
    )
    return {"key": directory / "controller", "env": directory / "inbound.env",
            "tarball": agent_image.save(directory), "dir": directory}  # fmt: skip


def inventory(files, mode: str, **extra) -> Path:
    data = {
        "docker_userns_agent": mode,
        "agent_ssh_authorized_keys": [Path(f"{files['key']}.pub").read_text().strip()],
        "docker_image_preload": [str(files["tarball"])],
        "docker_https_proxy": PROXY,
        "agent_containers": [
            {"name": AGENT, "image": IMAGE, "memory": "256m", "cpus": 0.5, "stop_timeout": 5},
            {"name": INBOUND, "image": IMAGE, "kind": "jenkins-inbound",
             "env_file": str(files["env"]), "memory": "256m", "cpus": 0.5, "stop_timeout": 5},
        ],
        **extra,
    }  # fmt: skip
    return write_inventory(files["dir"] / f"inventory-{mode}-{len(extra)}.py", data)


def converge(path: Path):
    run = deploy(inventory=path)
    assert run.returncode == 0, run.output
    assert SECRET not in run.output and PROXY_PASSWORD not in run.output
    return run


def ssh_root(host: state.Host, command: str) -> subprocess.CompletedProcess:
    return pipeline.ssh(state.state_dir(SET) / "ssh_config", host.name, command)


@pytest.fixture(scope="module")
def known_hosts(hosts, files) -> Path:
    """`agenthost known-hosts` of the inventory: the controller's "Known hosts file"."""
    agenthost = str(Path(PYINFRA).with_name("agenthost"))
    printed = subprocess.run([agenthost, "known-hosts", str(inventory(files, "root"))],
                             cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    path = files["dir"] / "known_hosts"
    path.write_text(printed.stdout)
    return path


def replay(host, kind: str, files, known_hosts, job: str, change=("", "")) -> dict[str, str]:
    """The pipeline as the agent: over SSH with the agent's key, or in the agent container."""
    workspace = f"{WORKSPACE}/workspace/{job}"
    command = pipeline.command(workspace, IMAGE, *change)
    if kind == "ssh":
        done = subprocess.run(
            ["ssh", "-i", str(files["key"]), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
             "-p", str(host.port), "jenkins@127.0.0.1", command],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    else:
        done = ssh_root(host, pipeline.in_container(AGENT, command))
    found = pipeline.results(done.stdout)
    assert set(pipeline.FLOWS) <= set(found), done.stdout + done.stderr
    # A failed deleteDir() leaves files the agent cannot remove: root clears them for the next.
    ssh_root(host, f"rm -rf {workspace} {workspace}@tmp")
    return found


def check_cell(hosts, files, known_hosts, kind: str, mode: str) -> None:
    failing, change = CELLS[(kind, mode)]
    for host in hosts:
        unchanged = replay(host, kind, files, known_hosts, f"{kind}-{mode}")
        for flow in pipeline.FLOWS:
            if flow in failing:
                assert failing[flow] in unchanged[flow], (host.name, flow, unchanged)
            else:
                assert unchanged[flow] == "ok", (host.name, flow, unchanged)
        if failing:
            changed = replay(host, kind, files, known_hosts, f"{kind}-{mode}-changed", change)
            assert all(changed[flow] == "ok" for flow in pipeline.FLOWS), (host.name, changed)
        listing = ssh_root(host, f"ls -A {WORKSPACE}/workspace")
        assert listing.stdout.split() == [], "deleteDir() left nothing"


def inspect(host, name: str) -> dict:
    return json.loads(ssh_root(host, f"docker container inspect {name}").stdout)[0]


def agent_ids(host) -> tuple[str, str]:
    return tuple(ssh_root(host, "id -u jenkins; id -g jenkins").stdout.split())


# --- root mode: container root is the agent ---------------------------------------------------


def as_agent_over_ssh(host, files, known_hosts, command: str, stdin: str | None = None):
    return subprocess.run(
        ["ssh", "-i", str(files["key"]), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
         "-p", str(host.port), "jenkins@127.0.0.1", command],
        capture_output=True, text=True, timeout=600, input=stdin,
    )  # fmt: skip


def no_trace_left(host) -> None:
    left = ssh_root(host, f"ls {escapes.OUT} 2>&1; docker volume ls -q; docker ps -aq"
                          " --filter name=pipelined; ls -d /tmp/shadow 2>&1")  # fmt: skip
    assert "No such file" in left.stdout.splitlines()[0], left.stdout
    assert "evil" not in left.stdout.split() and "pipelined" not in left.stdout


OPERATOR = "operator-root"  # an operator's container, root on the host, / mounted


@pytest.fixture(scope="module")
def operator_container(hosts, root_mode):
    for host in hosts:
        started = ssh_root(host, f"docker rm -f {OPERATOR} >/dev/null 2>&1; docker run -d"
                                 f" --name {OPERATOR} --userns=host -v /:/host {IMAGE} sleep 3600")
        assert started.returncode == 0, started.stderr
    yield OPERATOR
    for host in hosts:
        ssh_root(host, f"docker rm -f {OPERATOR}")

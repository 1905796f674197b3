"""The Vagrantfile's docker provider boots rehearsal hosts the real pyinfra reaches over SSH, with
the README's two commands: the host count given to `vagrant up` holds for pyinfra's @vagrant
connector, `vagrant status` and `vagrant destroy`, and the Vagrantfile adds nothing to their
output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenthost_lab import rehearsal_image
from tests.e2e.runner import PYINFRA, REPO, SET_PREFIX

RELEASE = "bookworm"
MACHINES = [f"{RELEASE}-1", f"{RELEASE}-2"]
SET = f"{SET_PREFIX}e2e-vagrant"

pytestmark = pytest.mark.skipif(
    not shutil.which("vagrant"), reason="vagrant is not installed (apt-get install vagrant)"
)


@pytest.fixture
def vagrant_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Machines of our own (their own Vagrant state and container names, not the operator's),
    and no AGENTHOST_HOSTS: only `vagrant up` is given it."""
    rehearsal_image.ensure_images([RELEASE])  # what `agenthost rehearsal image` does
    env = {name: value for name, value in os.environ.items() if not name.startswith("AGENTHOST_")}
    env |= {"AGENTHOST_VAGRANT_SET": SET, "VAGRANT_DOTFILE_PATH": str(tmp_path / ".vagrant")}
    yield env
    destroyed = run(["vagrant", "destroy", "-f"], env)
    assert containers() == [], f"vagrant destroy left machines:\n{destroyed}"


def run(command: list[str], env: dict[str, str]) -> str:
    process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=900)  # fmt: skip
    output = process.stdout + process.stderr
    assert process.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def containers() -> list[str]:
    listed = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}", "--filter",
                             f"name=agenthost-{SET}-"], capture_output=True, text=True)  # fmt: skip
    return sorted(listed.stdout.split())


def test_two_vagrant_hosts_are_converged_by_the_readmes_two_commands(vagrant_env):
    run(["vagrant", "up", "--provider=docker"], {**vagrant_env, "AGENTHOST_HOSTS": "2"})
    assert containers() == [f"agenthost-{SET}-{machine}" for machine in MACHINES]

    status = run(["vagrant", "status"], vagrant_env)
    assert all(re.search(rf"{machine}\s+running \(docker\)", status) for machine in MACHINES)
    ssh_config = subprocess.run(["vagrant", "ssh-config"], cwd=REPO, env=vagrant_env,
                                capture_output=True, text=True)  # fmt: skip
    assert ssh_config.stderr == "" and ssh_config.stdout.startswith("Host bookworm-1\n")
    assert ssh_config.stdout.count("HostName 127.0.0.1") == 2  # loopback, never a bridge IP

    # Every host makes its own SSH host key, so none goes into ~/.ssh/known_hosts.
    deploy = [PYINFRA, "-y", "@vagrant", "--data", "ssh_known_hosts_file=/dev/null",
              "--data", "docker_audit=false",  # a container: its kernel audit is the machine's
              "--data", "ssh_strict_host_key_checking=no"]
    output = run([*deploy, "deploy.py"], vagrant_env)
    assert all(f"[@vagrant/{machine}] Success" in output for machine in MACHINES), output

    remapped = "$(docker info --format '{{.SecurityOptions}}' | grep -c name=userns)"
    output = run([*deploy, "exec", "--",
                  f"echo $(hostname) $(systemctl is-active docker) {remapped}"], vagrant_env)
    for machine in MACHINES:
        assert f"[@vagrant/{machine}] agenthost-{SET}-{machine} active 1" in output

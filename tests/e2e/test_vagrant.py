"""The Vagrantfile's docker provider boots a rehearsal host the real pyinfra reaches over SSH."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenthost.lab import rehearsal_image
from tests.e2e.runner import PYINFRA, REPO, SET_PREFIX

RELEASE = "bookworm"
MACHINE = f"{RELEASE}-1"
CONTAINER = f"agenthost-{SET_PREFIX}e2e-vagrant-{RELEASE}-1"

pytestmark = pytest.mark.skipif(
    not shutil.which("vagrant"), reason="vagrant is not installed (apt-get install vagrant)"
)


@pytest.fixture
def vagrant_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A machine of our own: its own Vagrant state and container names, not the operator's."""
    rehearsal_image.ensure_images([RELEASE])  # what `agenthost rehearsal image` does
    env = {
        **os.environ,
        "AGENTHOST_HOSTS": "1",
        "AGENTHOST_RELEASE": RELEASE,
        "AGENTHOST_VAGRANT_SET": f"{SET_PREFIX}e2e-vagrant",
        "VAGRANT_DOTFILE_PATH": str(tmp_path / ".vagrant"),
    }
    yield env
    subprocess.run(["vagrant", "destroy", "-f"], cwd=REPO, env=env, capture_output=True)


def run(command: list[str], env: dict[str, str]) -> str:
    process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=600)
    output = process.stdout + process.stderr
    assert process.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def test_pyinfra_converges_a_vagrant_docker_host(vagrant_env):
    run(["vagrant", "up", "--provider=docker"], vagrant_env)

    ssh_config = run(["vagrant", "ssh-config", MACHINE], vagrant_env)
    assert "HostName 127.0.0.1" in ssh_config  # published on loopback, never a bridge IP

    # Every host makes its own SSH host key, so none goes into ~/.ssh/known_hosts.
    deploy = [PYINFRA, "-y", f"@vagrant/{MACHINE}", "--data", "ssh_known_hosts_file=/dev/null",
              "--data", "docker_audit=false",  # a container: its kernel audit is the machine's
              "--data", "ssh_strict_host_key_checking=no"]
    output = run([*deploy, "deploy.py"], vagrant_env)
    assert f"[@vagrant/{MACHINE}] Success" in output

    info = run(["vagrant", "ssh", MACHINE, "-c", "docker info --format '{{.SecurityOptions}}'"],
               vagrant_env)
    assert "name=userns" in info
    output = run([*deploy, "exec", "--", "echo $(hostname) $(systemctl is-active docker)"],
                 vagrant_env)
    assert f"[@vagrant/{MACHINE}] {CONTAINER} active" in output

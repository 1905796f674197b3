"""agenthost as a user installs it: a wheel in a fresh venv, used outside the repository.

The wheel is built from this checkout, installed with its declared dependencies only, and run
from an empty directory against the session's rehearsal hosts: the deploy through pyinfra's
function form (no deploy file of our own), the drift check, the testinfra suite (`agenthost
verify`), the settings table. The lab is an extra: without it `agenthost rehearsal` says how to
install it; with `[lab]` it works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agenthost_lab import state
from tests.e2e.runner import REPO, SET, deploy
from tests.e2e.test_drift import HOST_SUITE_TESTS


def run(*command: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    process = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert process.returncode == 0, f"{command}: {process.stdout[-2000:]}{process.stderr[-3000:]}"
    return process


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin directory, with agenthost installed from a wheel of this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    # From the tracked files only: setuptools builds in the source tree, and a leftover build/
    # there would slip stale files into the wheel.
    source = work / "source"
    files = run("git", "ls-files", "-z", cwd=REPO).stdout.split("\0")
    for name in filter(None, files):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(source),
        cwd=work)  # fmt: skip
    (wheel,) = work.glob("agenthost-*.whl")
    run(sys.executable, "-m", "venv", str(work / "venv"), cwd=work)
    run(str(work / "venv/bin/pip"), "install", "-q", "--disable-pip-version-check", str(wheel),
        cwd=work)  # fmt: skip
    return work / "venv" / "bin"


@pytest.fixture(scope="module")
def elsewhere(hosts, tmp_path_factory) -> Path:
    """An operator's directory outside the repository, with an inventory of the session hosts."""
    directory = tmp_path_factory.mktemp("operator")
    (directory / "inventory.py").write_text(
        "from agenthost_lab.state import inventory_groups, load_hosts\n"
        f"agents = inventory_groups(load_hosts({SET!r}))['rehearsal']\n"
    )
    return directory


def test_the_wheel_holds_the_tasks_and_templates_and_nothing_of_the_repo(installed):
    site = next(installed.parent.glob("lib/python3*/site-packages"))
    package = site / "agenthost"
    assert (package / "tasks" / "docker_daemon.py").is_file()
    assert (package / "templates" / "docker-apply.sh.j2").is_file()
    assert (package / "reads" / "snapshot.py").is_file()
    assert (site / "agenthost_lab" / "cli.py").is_file()  # the lab: its dependencies are an extra
    assert (package / "verify" / "test_agent_host.py").is_file()
    assert (package / "policy" / "server.py").is_file()
    assert not (site / "tasks").exists(), "no top-level `tasks` to collide with a user's own"


def test_the_installed_cli_deploys_and_checks_from_outside_the_repository(
    installed, elsewhere, first_run
):
    env = {**os.environ, "PATH": f"{installed}:{os.environ['PATH']}",
           "AGENTHOST_REHEARSAL_DIR": str(state.state_dir(SET).parent)}  # fmt: skip
    version = run(str(installed / "agenthost"), "--version", cwd=elsewhere, env=env).stdout
    assert version.startswith("agenthost ")
    table = run(str(installed / "agenthost"), "settings", cwd=elsewhere, env=env).stdout
    assert "| `docker_userns_remap` |" in table
    # The session hosts are converged: the installed deploy finds nothing to change.
    plan = run(str(installed / "pyinfra"), "-y", "inventory.py", "agenthost.tasks.agent_host",
               cwd=elsewhere, env=env)  # fmt: skip
    assert "Grand total" in plan.stdout + plan.stderr
    drift = subprocess.run([str(installed / "agenthost"), "drift", "inventory.py"],
                           cwd=elsewhere, env=env, capture_output=True, text=True)  # fmt: skip
    assert drift.returncode == 0, drift.stdout + drift.stderr
    for name in state.load_hosts(SET):
        assert f"{name.name}: no drift" in drift.stdout
    # The testinfra suite ships in the wheel: the same hosts pass it, read-only.
    verified = run(str(installed / "agenthost"), "verify", "inventory.py", "-q",
                   cwd=elsewhere, env=env)  # fmt: skip
    hosts = len(state.load_hosts(SET))
    assert f"{HOST_SUITE_TESTS * hosts} passed" in verified.stdout, verified.stdout[-2000:]


def test_the_lab_is_an_extra_that_says_how_to_get_it(installed, hosts, tmp_path):
    env = {**os.environ, "AGENTHOST_REHEARSAL_DIR": str(state.state_dir(SET).parent)}
    agenthost = str(installed / "agenthost")
    without = subprocess.run([agenthost, "rehearsal", "up", "--set", SET], cwd=tmp_path, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert without.returncode == 2, without.stdout + without.stderr
    assert without.stderr.count("\n") == 1 and without.stdout == "", without.stderr
    assert "install it with: pip install 'agenthost[lab]'" in without.stderr
    # What it says, done: the installed agenthost gains the docker SDK, and the lab answers.
    run(str(installed / "pip"), "install", "-q", "--disable-pip-version-check", "agenthost[lab]",
        cwd=tmp_path)  # fmt: skip
    listed = run(agenthost, "rehearsal", "status", "--set", SET, cwd=tmp_path, env=env).stdout
    assert all(host.name in listed for host in hosts), listed


@pytest.fixture(scope="module")
def first_run(hosts):
    """The hosts converged by the repository's deploy, as test_deploy leaves them."""
    run_ = deploy()
    assert run_.returncode == 0, run_.output

"""The VM tier: a Debian 12 and a Debian 13 virtual machine (a real kernel with AppArmor and
auditd), converged with the rehearsal inventory's settings plus a proxy, the pipeline replayed,
then rebooted; after the reboot everything holds and the Docker policy still refuses.

Slow (software emulation): select it with `-m vm`, leave it out with `-m "not vm"`. Both VMs
run side by side with one vCPU each (README: Testing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenthost import audit, desired, engine
from agenthost.settings import Settings
from agenthost_lab import agent_image, quickstart, rehearsal, rehearsal_vm, state
from tests.e2e.escapes import REFUSED
from tests.e2e.runner import PYINFRA, REPO, SET_PREFIX, Run, write_inventory

pytestmark = pytest.mark.vm

SET = f"{SET_PREFIX}vm"
PROXY = {
    "docker_http_proxy": "http://proxy.invalid:3128",
    "docker_https_proxy": "http://proxy.invalid:3128",
    "docker_no_proxy": ["localhost", "127.0.0.1"],
    "docker_apt_proxy": False,  # apt needs the real mirror
}
# Both side by side by default; one (e.g. `trixie`) where the budget is tighter (README).
RELEASES = os.environ.get("AGENTHOST_VM_RELEASES", "bookworm,trixie").split(",")
SYSTEMS = {"bookworm": engine.System("debian", "12", "bookworm"),
           "trixie": engine.System("debian", "13", "trixie")}  # fmt: skip
timings: dict[str, float] = {}


def ssh(host: state.Host, command: str, check: bool = True) -> str:
    config = state.state_dir(SET) / "ssh_config"
    done = subprocess.run(["ssh", "-F", str(config), host.name, command],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert not check or done.returncode == 0, f"{host.name}: {command}: {done.stderr}"
    return done.stdout.strip()


def timed(what: str, command: list[str]) -> subprocess.CompletedProcess:
    started = time.monotonic()
    env = {**os.environ, "AGENTHOST_REHEARSAL_SET": SET}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    timings[what] = round(time.monotonic() - started)
    print(f"vm tier: {what} took {timings[what]} s")
    return done


@pytest.fixture(scope="module")
def vms():
    started = time.monotonic()
    hosts = rehearsal_vm.up(SET, dict.fromkeys(RELEASES, 1))
    timings["up"] = round(time.monotonic() - started)
    try:
        yield hosts
    finally:
        if not os.environ.get("AGENTHOST_KEEP_HOSTS"):
            rehearsal.down(SET)
        print(f"vm tier timings (s): {json.dumps(timings)}")
        if path := os.environ.get("AGENTHOST_VM_TIMINGS"):  # the benchmark's record of the tier
            Path(path).write_text(json.dumps({"releases": RELEASES, "seconds": timings},
                                             indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def inventory(vms, tmp_path_factory):
    agent_image.save(state.state_dir(SET))
    data = {**quickstart.settings(SET), **PROXY}
    return write_inventory(tmp_path_factory.mktemp("vm") / "inventory.py", data, set_name=SET)


def deploy(what: str, inventory) -> Run:
    return Run(timed(what, [PYINFRA, "-y", "--json", str(inventory), "deploy.py"]))


def drift(what: str, inventory) -> subprocess.CompletedProcess:
    return timed(what, [sys.executable, "-m", "agenthost", "drift", str(inventory)])


@pytest.fixture(scope="module")
def rebooted(vms, inventory):
    """Converged, the pipeline replayed, then rebooted."""
    run = deploy("first converge", inventory)
    assert run.returncode == 0, run.output[-5000:]
    assert quickstart.replay_all(SET), "the pipeline replay failed before the reboot"
    timings["reboot"] = round(rehearsal_vm.reboot(SET))
    assert state.load_hosts(SET) == vms  # same ports: the set's state is still right
    return vms


def test_dockerd_runs_the_deployed_configuration_after_the_reboot(rebooted):
    for host in rebooted:
        deployed = json.loads(ssh(host, "cat /etc/docker/daemon.json"))
        assert deployed["icc"] is False and deployed["userns-remap"]
        # What dockerd runs, not what is on disk: icc off on its bridge, the remap, the proxy.
        icc = ssh(host, "docker network inspect bridge -f "
                        "'{{index .Options \"com.docker.network.bridge.enable_icc\"}}'")
        assert icc == "false", host.name
        info = json.loads(ssh(host, "docker info --format '{{json .}}'"))
        assert any("userns" in option for option in info["SecurityOptions"]), host.name
        assert any("apparmor" in option for option in info["SecurityOptions"]), host.name
        assert info["HttpProxy"] == PROXY["docker_http_proxy"], host.name
        assert ssh(host, "stat -c '%a %U %G' /run/docker.sock") == "660 root docker"
        units = "agenthost-docker-policy@container-ci-agent.socket agenthost-docker-prune.timer"
        assert ssh(host, f"systemctl is-active {units}").split() == ["active", "active"]


def test_the_agent_runs_confined_by_docker_default(rebooted):
    for host in rebooted:
        state = ssh(host, "docker inspect -f '{{.State.Running}} {{.AppArmorProfile}}' ci-agent")
        assert state == "true docker-default", host.name
        profiles = ssh(host, "aa-status")
        assert "docker-default" in profiles.split("processes are in enforce mode")[1], host.name


def test_the_agent_reaches_docker_only_through_its_policy(rebooted):
    image = agent_image.TAG
    for host in rebooted:
        assert ssh(host, "docker exec ci-agent docker version -f '{{.Server.Version}}'")
        said = ssh(host, f"docker exec ci-agent docker run --rm --privileged {image} true 2>&1",
                   check=False)  # fmt: skip
        assert REFUSED in said, (host.name, said)


def test_the_pipeline_replays_after_the_reboot(rebooted):
    assert quickstart.replay_all(SET)


def test_the_kernel_audits_docker(rebooted):
    for host in rebooted:
        wanted = audit.wanted_rules(Settings().docker_audit, "distro",
                                    SYSTEMS[host.release].version)  # fmt: skip
        assert audit.loaded(ssh(host, "auditctl -l").splitlines()) == wanted, host.name
        assert ssh(host, f"cat {audit.RULES_FILE}") + "\n" == desired.audit_rules(
            Settings(), SYSTEMS[host.release]).content


def test_a_second_deploy_changes_nothing_and_drift_is_quiet(rebooted, inventory):
    run = deploy("no-op deploy", inventory)
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed() == {}
    checked = drift("drift", inventory)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]


def test_a_rule_deleted_by_hand_is_drift(rebooted, inventory):
    host = rebooted[0]
    ssh(host, f"auditctl -W /etc/docker -p rwxa -k {audit.KEY}")  # -W removes a watch
    checked = drift("drift with a rule deleted", inventory)
    assert checked.returncode == 2, checked.stdout[-3000:]
    assert host.name in checked.stdout

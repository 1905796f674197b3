"""Reliability on real hosts: bad input refused with the host untouched, a configuration left
by an interrupted run applied by the next, the apply surviving a cut SSH connection (a re-run
waiting for it), two deploys at once, dockerd killed, apt's stamp aged, and no secret in any
output or readable file."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time

import pytest

from agenthost import paths
from agenthost.daemon_config import merged, render
from tests.e2e.runner import PYINFRA, REPO, SET, deploy, write_inventory

# Every file under /etc and what agenthost keeps, with its mode and owner: "unchanged byte for
# byte" is this listing being equal.
SNAPSHOT = (
    "find /etc /var/lib/agenthost /run/agenthost.lock -xdev -type f 2>/dev/null"
    " | sort | xargs -d '\\n' stat -c '%n %a %U %G %s' | sha256sum;"
    " find /etc /var/lib/agenthost -xdev -type f -print0 2>/dev/null | sort -z"
    " | xargs -0 sha256sum | sha256sum"
)
DEBUG = {"docker_daemon_options": {"debug": True}}
# Where packages put their drop-ins, which the deploy leaves alone (/etc and /run are policed).
SLOW = "/usr/lib/systemd/system/docker.service.d/agenthost-e2e-slow.conf"


def debug(host) -> str:
    return host.check_output("docker info --format '{{.Debug}}'")


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"agent_workspace": "/tmp"}, "agent_workspace = '/tmp'"),
        ({"agent_user": "daemon"}, "agent_user = 'daemon'"),
        ({"docker_prune_schedule": "daily\nUnit=reboot.target"}, "docker_prune_schedule = "),
        ({"agent_containers": [{"name": "ci", "image": "agent:1;touch /tmp/pwned"}]},
         "agent_containers.0.image = 'agent:1;touch /tmp/pwned'"),
        ({"agent_containers": [{"name": "ci", "image": "agent:1", "ports": ["99999:80"]}]},
         "agent_containers.0.ports = ['99999:80']"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_any_command_runs(remote, converged, tmp_path, data, named):
    before = {name: host.check_output(SNAPSHOT) for name, host in remote.items()}
    run = deploy(inventory=write_inventory(tmp_path / "inventory.py", data))
    assert run.returncode != 0
    for name in remote:
        assert f"host {name}: {named}" in run.output, run.output
    assert "no host was changed" in run.output
    assert {name: host.check_output(SNAPSHOT) for name, host in remote.items()} == before
    assert not any(host.file("/tmp/pwned").exists for host in remote.values())


def test_a_configuration_left_by_an_interrupted_run_is_applied_by_the_next(remote, converged,
                                                                         tmp_path):  # fmt: skip
    # The state a run killed between writing daemon.json and restarting dockerd leaves.
    for host in remote.values():
        content = render(merged("jenkins", DEBUG["docker_daemon_options"]))
        host.check_output(f"printf %s {shlex.quote(content)} > {paths.DAEMON_JSON}")
        assert debug(host) == "false"
    inventory = write_inventory(tmp_path / "inventory.py", DEBUG)
    run = deploy(inventory=inventory)
    assert run.returncode == 0, run.output
    assert all(debug(host) == "true" for host in remote.values())
    assert deploy(inventory=inventory).changed() == {}
    run = deploy()
    assert run.returncode == 0, run.output
    assert all(debug(host) == "false" for host in remote.values())


def test_the_apply_finishes_when_the_ssh_connection_is_cut(hosts, remote, converged, tmp_path):
    """And a re-run started at once waits for that apply (slowed down here) instead of
    overlapping it: the cut run's lock is free, its apply unit is not done."""
    name = hosts[0].name
    host = remote[name]
    slow = shlex.join(["printf", "%s\\n", "[Service]", "ExecStartPre=/bin/sh -c"
                       f" 'grep -q debug {paths.DAEMON_JSON} && sleep 20 || true'"])  # fmt: skip
    host.check_output(f"mkdir -p {os.path.dirname(SLOW)} && {slow} > {SLOW}")
    inventory = write_inventory(tmp_path / "inventory.py", DEBUG)
    command = [PYINFRA, "-y", str(inventory), "deploy.py", "--limit", name]
    env = {**os.environ, "AGENTHOST_REHEARSAL_SET": SET}
    pyinfra = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    unit = "agenthost-docker-apply.service"
    deadline = time.monotonic() + 300
    while host.run(f"systemctl is-active {unit}").stdout.strip() not in ("active", "activating"):
        assert pyinfra.poll() is None and time.monotonic() < deadline, "the apply never ran"
        time.sleep(0.1)
    os.killpg(pyinfra.pid, signal.SIGKILL)  # the deploy machine and its connection are gone
    pyinfra.wait()
    try:
        again = deploy("--limit", name, inventory=inventory)
    finally:
        host.check_output(f"rm -f {SLOW} && systemctl daemon-reload")
    assert again.returncode == 0, again.output
    assert "(agenthost-docker-apply) of agenthost run" in again.output, again.output
    assert debug(host) == "true"
    # The apply recorded what it applied: the re-run had nothing to do.
    assert again.changed() == {}
    assert deploy("--limit", name).returncode == 0 and debug(host) == "false"


def test_two_deploys_at_once_both_finish_one_after_the_other(hosts, remote, converged, tmp_path):
    name = hosts[0].name
    inventory = write_inventory(tmp_path / "inventory.py", DEBUG)
    command = [PYINFRA, "-y", str(inventory), "deploy.py", "--limit", name]
    env = {**os.environ, "AGENTHOST_REHEARSAL_SET": SET}
    runs = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    host = remote[name]
    assert debug(host) == "true"
    assert "agenthost-" not in host.check_output("ls -a /etc/docker /etc")  # no temp file left
    assert deploy("--limit", name, inventory=inventory).changed() == {}
    assert deploy("--limit", name).returncode == 0


RESTART = ("Docker restart | Docker runs the configuration on disk (restarted if needed, else"
           " rolled back)")


def test_a_dead_dockerd_is_seen_by_the_dry_run_and_brought_back(remote, converged):
    # Killed past systemd's restart limit, or stopped by hand: nothing brings it back but us.
    for host in remote.values():
        host.check_output("systemctl stop docker.socket docker.service")
    assert RESTART in dry_run_changes()
    run = deploy()
    assert run.returncode == 0, run.output
    assert RESTART in run.changed()
    for host in remote.values():
        assert host.service("docker").is_running
        assert "name=userns" in host.check_output("docker info --format '{{.SecurityOptions}}'")
    assert deploy().changed() == {}


def dry_run_changes() -> list[str]:
    """The operations `pyinfra --dry` says would change a host."""
    # Without -y: pyinfra then runs every operation to see whether it would change the host.
    dry = subprocess.run([PYINFRA, "--json", "--dry", "inventory/rehearsal.py", "deploy.py"],
                         cwd=REPO, env={**os.environ, "AGENTHOST_REHEARSAL_SET": SET},
                         capture_output=True, text=True)  # fmt: skip
    assert dry.returncode == 0, dry.stdout + dry.stderr
    return [op["name"] for op in json.loads(dry.stdout)["plan"] if op["hosts_with_change"]]


def test_a_month_old_apt_stamp_changes_nothing(remote, converged):
    for host in remote.values():
        host.check_output("touch -d '40 days ago' /var/lib/apt/periodic/update-success-stamp"
                          " /var/lib/apt/lists/* 2>/dev/null; true")  # fmt: skip
    assert dry_run_changes() == []
    assert deploy().changed() == {}


def test_no_secret_in_any_output_or_world_readable_file(remote, converged, tmp_path):
    password, token = "pa/ss w0rd-4711", "tok3n-0815"
    data = {
        "docker_http_proxy": f"http://builder:{password}@proxy.invalid:3128",
        "docker_https_proxy": f"http://{token}@proxy.invalid:3128",
        "docker_proxy_typo": f"http://builder:{password}@proxy.invalid:3128",
    }
    for host in remote.values():
        host.check_output("touch /run/agenthost-scan-start")
    refused = deploy("-vvv", inventory=write_inventory(tmp_path / "typo.py", data))
    assert refused.returncode != 0 and "docker_proxy_typo" in refused.output
    del data["docker_proxy_typo"]
    run = deploy("-vvv", "--diff", inventory=write_inventory(tmp_path / "inventory.py", data))
    assert run.returncode == 0, run.output
    secrets = [password, "pa%2Fss%20w0rd-4711", token]
    for output in (refused.output, run.output):
        assert not [s for s in secrets if s in output]
    for host in remote.values():
        readable = host.check_output(
            "find / -xdev -newer /run/agenthost-scan-start -type f -perm -o=r"
            " -not -path '/proc/*' -not -path '/sys/*' -print0 | xargs -0 -r grep -l -F"
            f" -e {shlex.quote(token)} -e {shlex.quote('pa%2Fss')} 2>/dev/null || true"
        )
        assert readable == ""
        pid = host.check_output("systemctl show docker -p MainPID --value")
        assert token in host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
    assert deploy().returncode == 0

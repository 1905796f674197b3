"""An operator's first week, through the real command lines on the session hosts: waits that say
what they wait for (the run lock, an agent's health check), a proxy password rotation that leaves
no old copy in the backups, apt going past the proxy for a domain of docker_no_proxy, backups
listed with `agenthost backups`, and backup folders 0700.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.drift_support import AGENT_IMAGE, build_agent_image
from tests.e2e.runner import REPO, SET, deploy, write_inventory
from tests.e2e.test_refusals import on_host  # by Docker: it takes no lock and logs in nowhere

AGENTHOST = str(Path(sys.executable).with_name("agenthost"))
WAITING = "holds /run/agenthost.lock since"


def agenthost(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AGENTHOST, *args], cwd=REPO, capture_output=True, text=True)


@pytest.fixture(scope="module")
def plain(hosts, tmp_path_factory) -> Path:
    """The session hosts with default settings; what each test leaves them as."""
    inventory = write_inventory(tmp_path_factory.mktemp("week") / "plain.py")
    run = deploy(inventory=inventory)
    assert run.returncode == 0, run.output
    return inventory


def hold_lock_for(host, seconds: float) -> threading.Timer:
    """Another run holds the host's lock (its owner, sshd's listener, stays alive) until
    `seconds` from now."""
    on_host(host, "mkdir -p /run/agenthost.lock && echo other-run"
                  " $(systemctl show -p MainPID --value ssh) >/run/agenthost.lock/owner")
    release = threading.Timer(seconds, on_host, (host, "rm -rf /run/agenthost.lock"))
    release.start()
    return release


def test_drift_and_a_deploy_say_which_run_holds_the_lock_while_they_wait(hosts, plain):
    name = hosts[0].name
    hold_lock_for(hosts[0], 20)
    started = time.monotonic()
    drift = agenthost("drift", str(plain), "--limit", name)
    assert time.monotonic() - started >= 15 and drift.returncode != 1, drift.stderr
    assert f"[{name}] agenthost run other-run {WAITING}" in drift.stderr
    assert "s more at most (of 600 s)" in drift.stderr

    hold_lock_for(hosts[0], 20)
    run = deploy("--limit", name, inventory=plain)
    assert run.returncode == 0 and f"agenthost run other-run {WAITING}" in run.stderr, run.output


def test_an_agents_health_check_wait_is_said_as_it_goes(hosts, plain, tmp_path):
    name = hosts[0].name
    agent = {"name": "week-agent", "image": AGENT_IMAGE, "memory": "64m", "cpus": 0.5,
             "stop_timeout": 5, "healthcheck": ["CMD-SHELL", "sleep 12"]}  # fmt: skip
    data = {"docker_image_preload": [str(build_agent_image(tmp_path))], "agent_containers": [agent]}
    with_agent = write_inventory(tmp_path / "agent.py", host_data={name: data})
    try:
        run = deploy("--limit", name, inventory=with_agent)
        assert run.returncode == 0, run.output
        assert "week-agent: running, waiting for its health check to pass (5 s so far" in (
            run.stderr
        )
        assert "week-agent is healthy after" in run.stderr
    finally:
        assert deploy("--limit", name, inventory=plain).returncode == 0


def proxy_inventory(path: Path, host: str, password: str) -> Path:
    url = f"http://ci:{password}@127.0.0.1:9"  # nothing listens: only what bypasses it works
    return write_inventory(path, host_data={host: {
        "docker_http_proxy": url, "docker_https_proxy": url,
        "docker_no_proxy": ["localhost", ".debian.org"],
    }})  # fmt: skip


def test_a_rotated_proxy_password_leaves_no_copy_and_apt_bypasses_a_domain(hosts, plain,
                                                                            tmp_path):
    host, name = hosts[1], hosts[1].name
    try:
        old = proxy_inventory(tmp_path / "a.py", name, "old-pw")
        first = deploy("--limit", name, inventory=old)
        assert first.returncode == 0, first.output
        # apt reaches deb.debian.org past a proxy that does not answer, through the bypass only.
        updated = on_host(host, "apt-get update 2>&1; true")
        assert "Failed to fetch" not in updated and "127.0.0.1:9" not in updated, updated
        no_bypass = "apt-get -o Acquire::http::Proxy-Auto-Detect= update 2>&1; true"
        proxied = on_host(host, no_bypass)
        assert "Unable to connect to 127.0.0.1:9" in proxied

        rotated = deploy("--limit", name,
                         inventory=proxy_inventory(tmp_path / "b.py", name, "new-pw"))
        assert rotated.returncode == 0, rotated.output
        assert "/etc/docker/proxy.env holds credentials: its earlier versions are not kept" in (
            rotated.stderr
        )
        assert on_host(host, "grep -rl old-pw /var/backups/agenthost; true") == ""
        assert on_host(host, "find /var/backups/agenthost -type d ! -perm 700") == ""

        listed = agenthost("backups", str(plain), "--limit", name)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith(f"{name}: ") and "run(s) with backups" in listed.stdout
        assert "/etc/docker/proxy.env (none before)" in listed.stdout
        assert hosts[0].name not in listed.stdout and "pw" not in listed.stdout
    finally:
        assert deploy("--limit", name, inventory=plain).returncode == 0


def test_rehearsal_status_shows_ports_and_known_hosts_leaves_out_a_retired_host(hosts, plain,
                                                                                 tmp_path):
    status = agenthost("rehearsal", "status", "--set", SET)
    assert status.returncode == 0, status.stderr
    for host in hosts:
        assert f"{host.name}\trunning\t127.0.0.1:{host.port}\n" in status.stdout

    retired = write_inventory(tmp_path / "retired.py",
                              host_data={hosts[1].name: {"agent_retired": True}})  # fmt: skip
    listed = agenthost("known-hosts", str(retired))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"[127.0.0.1]:{hosts[0].port} ")
    assert f":{hosts[1].port}]" not in listed.stdout
    assert f"{hosts[1].name}: retired (agent_retired), not listed" in listed.stderr

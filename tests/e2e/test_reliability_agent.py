"""An agent spec the host or Docker refuses leaves the running agent as it was (same ID); a
refused or hanging dockerd, a dockerd that cannot start from its files, apt's lock held by
another process, and an apt-get killed mid-install leave the agents running too."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from agenthost import paths
from agenthost.paths import DAEMON_JSON
from tests.e2e.runner import REPO, deploy, write_inventory
from tests.e2e.test_agent import (  # noqa: F401 (fixtures)
    IMAGE,
    agent_ids,
    converged,
    inspect,
    inventory,
    secrets,
    settings,
    tarball,
)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"cpus": 64}, "cpus = 64.0: more than the"),  # refused while planning, as each host says
        ({"command": ["/nonexistent/agent"]}, "ci-agent was not replaced"),  # never runs
    ],
)
def test_an_agent_that_cannot_run_leaves_the_old_one_running(
    remote, tarball, secrets, inventory, converged, tmp_path, change, said  # noqa: F811
):
    before = agent_ids(remote)
    bad = write_inventory(tmp_path / "inventory.py", settings(tarball, secrets, **change))
    run = deploy(inventory=bad)
    assert run.returncode != 0
    assert said in run.output, run.output
    assert agent_ids(remote) == before
    assert all(inspect(h)["State"]["Status"] == "running" for h in remote.values())
    assert all("agenthost-next" not in h.check_output("docker ps -a --format '{{.Names}}'")
               for h in remote.values())  # fmt: skip
    assert deploy(inventory=inventory).changed() == {}


# The faults real hosts meet (issue 23), each ending with nothing lost: the agents run (the same
# containers), a good deploy changes nothing more, and drift finds nothing.
RECORD = paths.APPLIED_RECORD
# Where packages put their drop-ins, which the deploy leaves alone (/etc and /run are policed).
HANG = "/usr/lib/systemd/system/docker.service.d/agenthost-e2e-hang.conf"


def nothing_lost(remote, good, before: dict[str, str]) -> None:
    """The same agents run; the good inventory `good` deploys, then changes nothing, drifts not."""
    assert agent_ids(remote) == before
    assert all(inspect(h)["State"]["Status"] == "running" for h in remote.values())
    again = deploy(inventory=good)
    assert again.returncode == 0, again.output
    assert deploy(inventory=good).changed() == {}
    assert all(inspect(h)["State"]["Status"] == "running" for h in remote.values())
    drift = subprocess.run([sys.executable, "-m", "agenthost", "drift", str(good)],
                           cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert drift.returncode == 0, drift.stdout + drift.stderr


def with_data(image, keys, tmp_path, **data):
    """The agent inventory with `data` set too."""
    return write_inventory(tmp_path / "inventory.py", {**settings(image, keys), **data})


def test_a_refused_daemon_option_rolls_back_and_the_agents_run_again(
    remote, tarball, secrets, inventory, converged, tmp_path  # noqa: F811
):
    """Also with the last healthy apply stamped an hour ahead of this machine's clock (a
    controller an hour behind): the backups of this run still come after it, and are restored."""
    before, files = agent_ids(remote), {n: h.file(DAEMON_JSON).content_string
                                        for n, h in remote.items()}  # fmt: skip
    for host in remote.values():
        host.check_output(f"sed -i \"s/ .*/ $(date -u -d '+1 hour' +%Y%m%dT%H%M%SZ)/\" {RECORD}")
    bad = {"docker_daemon_options": {"storage-driver": "agenthost-nonexistent"}}
    run = deploy(inventory=with_data(tarball, secrets, tmp_path, **bad))
    assert run.returncode != 0
    assert run.output.count("the previous files are restored") >= len(remote), run.output
    assert {n: h.file(DAEMON_JSON).content_string for n, h in remote.items()} == files
    nothing_lost(remote, inventory, before)


def test_a_dockerd_that_hangs_on_start_is_stopped_and_rolled_back(
    remote, tarball, secrets, inventory, converged, tmp_path  # noqa: F811
):
    before = agent_ids(remote)
    hang = shlex.join(["printf", "%s\\n", "[Service]", "ExecStartPre=/bin/sh -c"
                       f" 'grep -q debug {DAEMON_JSON} && exec sleep 600 || true'"])  # fmt: skip
    for host in remote.values():
        host.check_output(f"mkdir -p {os.path.dirname(HANG)} && {hang} > {HANG}")
    try:
        data = {"docker_daemon_options": {"debug": True}, "docker_start_timeout": 20}
        run = deploy(inventory=with_data(tarball, secrets, tmp_path, **data))
    finally:
        for host in remote.values():
            host.check_output(f"rm -f {HANG} && systemctl daemon-reload")
    assert run.returncode != 0
    assert run.output.count("did not start within 20 s (docker_start_timeout)") >= len(remote)
    assert run.output.count("the previous files are restored") >= len(remote), run.output
    assert all(h.service("docker").is_running for h in remote.values())
    nothing_lost(remote, inventory, before)


def test_a_dockerd_that_cannot_start_from_its_files_is_healed_by_a_good_deploy(
    remote, inventory, converged  # noqa: F811
):
    before = agent_ids(remote)
    for host in remote.values():
        host.check_output(f"echo '{{broken' > {DAEMON_JSON}")
        host.check_output("systemctl stop docker.socket docker.service")
    run = deploy(inventory=inventory)
    assert run.returncode == 0, run.output
    for host in remote.values():
        assert host.service("docker").is_running
        assert "name=userns" in host.check_output("docker info --format '{{.SecurityOptions}}'")
    nothing_lost(remote, inventory, before)


def test_a_deploy_waits_for_dpkgs_lock_naming_its_holder(
    remote, tarball, secrets, inventory, converged, tmp_path  # noqa: F811
):
    """An fcntl lock, as apt takes it (flock(1) takes another kind, which apt does not see)."""
    before = agent_ids(remote)
    hold = ("import fcntl, time; f = open('/var/lib/dpkg/lock-frontend', 'w');"
            " fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(40)")  # fmt: skip
    for host in remote.values():
        host.check_output(f"systemd-run --collect python3 -c {shlex.quote(hold)}")
    run = deploy(inventory=with_data(tarball, secrets, tmp_path, agent_packages=["tree"]))
    assert run.returncode == 0, run.output
    assert "waiting for apt: /var/lib/dpkg/lock-frontend is held by process" in run.output
    assert "python3 -c import fcntl" in run.output
    assert all(h.package("tree").is_installed for h in remote.values())
    nothing_lost(remote, inventory, before)


def test_a_full_disk_where_backups_and_uploads_go_loses_nothing(
    hosts, remote, tarball, secrets, inventory, converged, tmp_path  # noqa: F811
):
    """On one host the backups' file system is full, on the other the image uploads'. The
    deploy fails there saying so, and keeps no truncated backup; the tarball cut short is drift,
    then removed by the next deploy (with room again), and nothing is lost."""
    backups, uploads = (h.name for h in sorted(hosts, key=lambda h: h.release))
    full = {backups: paths.BACKUP_DIR, uploads: paths.IMAGE_UPLOADS}
    kept = "/root/agenthost-e2e-backups"
    listed = f"find {paths.BACKUP_DIR} -type f ! -name filler | sort"  # empty folders may stay
    before, files = agent_ids(remote), remote[backups].check_output(listed)
    for name, folder in full.items():
        remote[name].check_output(
            f"mkdir -p {folder} && cp -a {folder}/. {kept}/ && mount -t tmpfs -o size=1m,mode=0700"
            f" tmpfs {folder} && cp -a {kept}/. {folder}/ && rm -rf {kept}"
            f" && {{ dd if=/dev/zero of={folder}/filler bs=4k 2>/dev/null; true; }}"
        )  # fmt: skip
    remote[uploads].check_output(f"docker image rm --force {IMAGE}")  # so it is uploaded again
    try:
        data = {"docker_daemon_options": {"debug": True}}
        run = deploy(inventory=with_data(tarball, secrets, tmp_path, **data))
        assert run.returncode != 0
        assert run.output.count("No space left on device") >= 1, run.output
        host = remote[backups]
        assert '"debug"' not in host.file(DAEMON_JSON).content_string  # not written unbacked
        assert host.check_output(listed) == files  # no backup cut short, no temporary copy
        partial = os.path.basename(tarball)
        assert partial in remote[uploads].check_output(f"ls {paths.IMAGE_UPLOADS}")
        for name, folder in full.items():  # room again: the partial tarball stays until a run
            remote[name].check_output(f"rm -f {folder}/filler && mount -o remount,size=2g {folder}")
        found = subprocess.run([sys.executable, "-m", "agenthost", "drift", str(inventory)],
                               cwd=REPO, capture_output=True, text=True)  # fmt: skip
        assert found.returncode == 2 and "left by an interrupted run" in found.stdout, found.stdout
        nothing_lost(remote, inventory, before)
        assert remote[uploads].check_output(f"ls -A {paths.IMAGE_UPLOADS}") == ""
    finally:
        for name, folder in full.items():
            remote[name].check_output(
                f"rm -f {folder}/filler; mkdir -p {kept} && cp -a {folder}/. {kept}/"
                f" && umount {folder} && cp -a {kept}/. {folder}/ && rm -rf {kept}"
            )  # fmt: skip


# A package whose postinst says it runs, then waits while the marker exists: dpkg is killed there.
BLOCK = "agenthost-e2e-block"
MARKER, RUNNING, DEB = f"/run/{BLOCK}", f"/run/{BLOCK}.running", f"/tmp/{BLOCK}"
CONTROL = [f"Package: {BLOCK}", "Version: 1.0", "Architecture: all",
           "Maintainer: agenthost e2e <e2e@localhost>", f"Description: waits for {MARKER}"]
POSTINST = ["#!/bin/sh", f"touch {RUNNING}", f"while [ -e {MARKER} ]; do sleep 1; done"]


def interrupt_dpkg(host) -> None:
    """apt-get, dpkg and the postinst SIGKILLed while dpkg configures a package, as a dropped
    boot or an OOM kill leaves them: dpkg's journal stays in /var/lib/dpkg/updates/, the package
    half-configured, and apt refuses every command until `dpkg --configure -a`."""
    write = (f"printf '%s\\n' {shlex.join(CONTROL)} > {DEB}/DEBIAN/control"
             f" && printf '%s\\n' {shlex.join(POSTINST)} > {DEB}/DEBIAN/postinst")  # fmt: skip
    host.check_output(f"rm -f {RUNNING} && mkdir -p {DEB}/DEBIAN && {write}"
                      f" && chmod 755 {DEB}/DEBIAN/postinst && dpkg-deb --build {DEB} {DEB}.deb"
                      f" && touch {MARKER}"
                      f" && systemd-run --collect --unit {BLOCK} apt-get install -y {DEB}.deb")
    host.check_output(f"timeout 60 sh -c 'until [ -e {RUNNING} ]; do sleep 1; done'")
    host.check_output(f"systemctl kill -s KILL {BLOCK}.service && rm {MARKER}")
    check = host.run("apt-get check 2>&1")
    assert check.rc != 0 and "dpkg was interrupted" in check.stdout, check.stdout
    assert "half-configured" in host.check_output(f"dpkg -s {BLOCK}")


def test_a_deploy_repairs_a_dpkg_killed_mid_install(
    remote, tarball, secrets, inventory, converged, tmp_path  # noqa: F811
):
    """tree (an agent package) removed first, so the deploy needs apt whatever ran before."""
    before = agent_ids(remote)
    try:
        for host in remote.values():
            host.check_output("apt-get remove -y -q tree")
            interrupt_dpkg(host)
        run = deploy(inventory=with_data(tarball, secrets, tmp_path, agent_packages=["tree"]))
        assert run.returncode == 0, run.output
        said = "agenthost: dpkg was interrupted: dpkg --configure -a"
        assert run.output.count(said) >= len(remote), run.output
        for host in remote.values():
            assert host.package("tree").is_installed
            status = host.check_output(f"dpkg-query -W -f '${{Status}}' {BLOCK}")
            assert status == "install ok installed", "configured again, not just skipped"
            audit = host.run("dpkg --audit")
            assert (audit.rc, audit.stdout) == (0, ""), audit.stdout
    finally:  # the shared hosts keep nothing of it, also when the repair failed
        for host in remote.values():
            host.run(f"rm -f {MARKER}; systemctl kill -s KILL {BLOCK}.service; dpkg --configure -a;"
                     f" dpkg --purge {BLOCK}; rm -rf {RUNNING} {DEB} {DEB}.deb")
    nothing_lost(remote, inventory, before)

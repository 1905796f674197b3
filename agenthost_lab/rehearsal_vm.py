"""A rehearsal set of virtual machines (`up --machine vm`), and the reboot of any set's hosts.

VM hosts go into the same .rehearsal/SET/hosts.json as container hosts (with "machine": "vm"),
so inventory/rehearsal.py, `pipeline` and `down` do not tell them apart. A reboot keeps each
host's SSH port: a VM's forward belongs to its qemu process, which a guest reboot keeps; a
container's port was fixed at `up`.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from agenthost_lab import engine, rehearsal, vm, vm_image
from agenthost_lab.rehearsal_image import ensure_key
from agenthost_lab.state import Host, RehearsalError, load_hosts, state_dir, write_state

log = logging.getLogger(__name__)

# Boot to SSH took 21-44 s alone (NOTES); two VMs sharing 2 cores, or a reboot that waits out
# Docker's stop timeout and then dockerd's start, take longer.
BOOT_TIMEOUT = 600.0
# After a reboot sshd answers before dockerd (NOTES): hosts with Docker wait for it too.
DOCKER_UP = "! command -v docker >/dev/null || docker info >/dev/null 2>&1"


def up(set_name: str, counts: Mapping[str, int]) -> list[Host]:
    """Start a fresh set of VMs and wait until each is booted and answers on SSH."""
    releases = [r for r, n in counts.items() if n > 0]
    images = vm_image.ensure_images(releases)
    rehearsal.down(set_name)
    key = str(ensure_key())
    names = [(r, rehearsal.host_name(set_name, r, i)) for r in releases
             for i in range(1, counts[r] + 1)]  # fmt: skip
    cpus = vm.vcpus(len(names))
    hosts = [Host(name, release, vm.free_port(), key, "vm") for release, name in names]
    started = time.monotonic()
    for host in hosts:
        vm.start(host.name, images[host.release], vm_dir(set_name, host.name), host.port, cpus)
    directory = write_state(set_name, hosts)
    wait_all(set_name, hosts, started + BOOT_TIMEOUT, "true")
    log.info("%d VM(s) booted in %.0fs (%d vCPU each)", len(hosts), time.monotonic() - started,
             cpus)  # fmt: skip
    log.info("state in %s", directory)
    return hosts


def vm_dir(set_name: str, name: str):
    return state_dir(set_name) / "vm" / name


def wait_all(set_name: str, hosts: list[Host], deadline: float, wait_for: str) -> None:
    ssh_config = state_dir(set_name) / "ssh_config"

    def log_tail(host: Host) -> str:
        if host.machine == "vm":
            return vm.console_tail(vm_dir(set_name, host.name))
        client = engine.ensure_engine()
        return client.containers.get(host.name).logs(tail=30).decode(errors="replace")

    with ThreadPoolExecutor(max_workers=len(hosts) or 1) as pool:
        waits = [pool.submit(rehearsal.wait_booted, h, ssh_config, deadline,
                             lambda h=h: log_tail(h), wait_for) for h in hosts]  # fmt: skip
        for wait in waits:
            wait.result()


def reboot(set_name: str) -> float:
    """Reboot every host of the set at once and wait until each is back: SSH, systemd's boot
    finished and, where Docker is installed, dockerd answering. Returns the seconds it took."""
    hosts = load_hosts(set_name)
    ssh_config = state_dir(set_name) / "ssh_config"
    started = time.monotonic()
    before = {h.name: _boot_id(ssh_config, h.name) for h in hosts if h.machine == "vm"}
    for host in hosts:
        if host.machine == "vm":
            # The connection may drop before ssh sees an exit status: that is the reboot.
            _ssh(ssh_config, host.name, "systemctl reboot")
    containers = [h for h in hosts if h.machine != "vm"]
    if containers:
        client = engine.ensure_engine()
        for host in containers:
            client.containers.get(host.name).restart(timeout=30)
    deadline = started + BOOT_TIMEOUT
    for name, boot_id in before.items():
        while _boot_id(ssh_config, name) in (boot_id, None):
            if time.monotonic() >= deadline:
                raise RehearsalError(f"{name}: did not come back from its reboot")
            time.sleep(2)
    wait_all(set_name, hosts, deadline, DOCKER_UP)
    took = time.monotonic() - started
    log.info("%d host(s) rebooted in %.0fs", len(hosts), took)
    return took


def _ssh(ssh_config, name: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
         "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", name, command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _boot_id(ssh_config, name: str) -> str | None:
    """The kernel's boot id, or None while the host does not answer."""
    try:
        done = _ssh(ssh_config, name, "cat /proc/sys/kernel/random/boot_id")
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.strip() if done.returncode == 0 else None

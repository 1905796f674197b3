"""Rehearsal hosts: Debian containers that behave like real agent hosts.

Each host runs systemd as PID 1, sshd on a 127.0.0.1 port, and can run a real dockerd, so the
deploy converges it over SSH exactly as it would a machine. Images are built from Debian packages
(debootstrap piped into `docker import`) because no registry is reachable, and cached per release.
Everything created carries the label `agenthost.rehearsal=<set>`, which is what `down` removes.
"""

import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from docker.models.containers import Container

from agenthost_lab import engine, vm
from agenthost_lab.rehearsal_image import RELEASE_LABEL, ensure_images, ensure_key, image_tag
from agenthost_lab.state import (
    DEFAULT_SET,
    RELEASES,
    Host,
    RehearsalError,
    state_dir,
    write_state,
)

log = logging.getLogger(__name__)

SET_LABEL = "agenthost.rehearsal"

# Every capability except SYS_RESOURCE, which this machine's bounding set lacks (so --privileged
# and ALL fail), and except PERFMON, BPF and CHECKPOINT_RESTORE, which Debian 12's engine (20.10)
# rejects as unknown (SYS_ADMIN grants what they would). systemd and a nested dockerd need the rest.
CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
    "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ",
)
# systemd and dockerd make mounts, namespaces and keyrings the default profiles forbid.
SECURITY_OPT = ("seccomp=unconfined", "apparmor=unconfined")
# The API form of `--security-opt systempaths=unconfined`, which the SDK has no option for:
# without it a nested container under userns-remap cannot mount /proc.
UNCONFINED_SYSTEM_PATHS = {"MaskedPaths": [], "ReadonlyPaths": []}
BOOT_TIMEOUT = 180.0
# Hosts created, started and waited for at once: the engine and sshd's key generation at boot
# overlap well; beyond this the 2-core machine only queues them.
PARALLEL = 8


# --- hosts ----------------------------------------------------------------------------------

def host_name(set_name: str, release: str, index: int) -> str:
    """agenthost-bookworm-1 in the default set; agenthost-<set>-bookworm-1 in any other."""
    prefix = "agenthost" if set_name == DEFAULT_SET else f"agenthost-{set_name}"
    return f"{prefix}-{release}-{index}"


def network_name(set_name: str) -> str:
    return f"agenthost-rehearsal-{set_name}"


def spread(total: int, releases: Iterable[str]) -> dict[str, int]:
    """Deal `total` hosts over the releases in turn: 3 over bookworm,trixie = 2 + 1."""
    releases = list(dict.fromkeys(releases))
    return {r: total // len(releases) + (i < total % len(releases)) for i, r in enumerate(releases)}


def container_spec(set_name: str, release: str, index: int,
                   port: int | None = None) -> tuple[dict, dict]:
    """One host's container as arguments of the SDK's low-level `create_container` and
    `create_host_config`: what systemd as PID 1 and a nested dockerd need on this machine."""
    name = host_name(set_name, release, index)
    create = {
        "image": image_tag(release),
        "name": name,
        "hostname": name,
        "command": ["/lib/systemd/systemd"],
        "labels": {SET_LABEL: set_name, RELEASE_LABEL: release},
        # What systemd takes as "shut down cleanly"; `docker import` cannot set STOPSIGNAL.
        "stop_signal": "SIGRTMIN+3",
        "ports": [22],
    }
    host_config = {
        "cap_add": list(CAPABILITIES),
        "security_opt": list(SECURITY_OPT),
        # systemd and the nested dockerd manage cgroups: they need the real, writable tree.
        "cgroupns": "host",
        "binds": {
            "/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"},
            # overlay on overlay does not work: the nested dockerd needs a real filesystem.
            docker_volume_name(name): {"bind": "/var/lib/docker", "mode": "rw"},
        },
        "tmpfs": {"/run": "", "/run/lock": ""},  # systemd expects them fresh at each boot
        # On loopback only: hosts are reached nowhere else. A port chosen at `up` (not left to
        # Docker, which picks another at each restart) keeps the host reachable after a reboot.
        "port_bindings": {22: ("127.0.0.1", port)},
        "network_mode": network_name(set_name),
    }
    return create, host_config


def docker_cli_options(set_name: str) -> list[str]:
    """container_spec's host options as `docker create` flags, for the Vagrantfile's docker
    provider (which names, ports and volumes the container itself)."""
    return [
        *(f"--cap-add={cap}" for cap in CAPABILITIES),
        *(f"--security-opt={opt}" for opt in (*SECURITY_OPT, "systempaths=unconfined")),
        "--cgroupns=host", "-v=/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v=/var/lib/docker",
        "--tmpfs=/run", "--tmpfs=/run/lock", "--stop-signal=SIGRTMIN+3",
        f"--label={SET_LABEL}={set_name}",
    ]  # fmt: skip


def docker_volume_name(host: str) -> str:
    return f"{host}-docker"


def up(set_name: str, counts: Mapping[str, int]) -> list[Host]:
    """Start a fresh set of container hosts, e.g. up("e2e", {"bookworm": 2, "trixie": 1}), and
    wait until each is booted and answers on SSH. Leftovers of the same set are removed first.
    Virtual machines: rehearsal_vm.up."""
    unknown = set(counts) - set(RELEASES)
    if unknown:
        raise RehearsalError(f"unknown release(s) {sorted(unknown)}; known: {list(RELEASES)}")
    releases = [r for r, n in counts.items() if n > 0]
    ensure_images(releases)
    client = engine.ensure_engine()
    engine.ensure_inotify_instances(sum(counts.values()))
    down(set_name)
    labels = {SET_LABEL: set_name}
    client.networks.create(network_name(set_name), driver="bridge", labels=labels)
    key = str(ensure_key())

    def start(release: str, index: int) -> Host:
        # A client per thread: the SDK's HTTP session is not meant to be shared across threads.
        container = _create_container(engine.ensure_engine(), set_name, release, index)
        container.start()
        return Host(container.name, release, _ssh_port(container), key)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        jobs = [pool.submit(start, r, i) for r in releases for i in range(1, counts[r] + 1)]
        hosts = [job.result() for job in jobs]
        directory = write_state(set_name, hosts)
        deadline = started + BOOT_TIMEOUT
        waits = [pool.submit(wait_booted, h, directory / "ssh_config", deadline,
                             lambda name=h.name: _container_log(client, name))
                 for h in hosts]  # fmt: skip
        for wait in waits:
            wait.result()
    log.info("%d host(s) booted in %.0fs", len(hosts), time.monotonic() - started)
    return hosts


def down(set_name: str) -> list[str]:
    """Remove the set's VMs, containers (stopped ones too), volumes, network and state files;
    returns the names of the hosts removed."""
    machines = vm.stop_all(state_dir(set_name) / "vm")
    client = engine.ensure_engine()
    selector = _set_selector(set_name)
    containers = client.containers.list(all=True, filters=selector)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for removal in [pool.submit(c.remove, force=True, v=True) for c in containers]:
            removal.result()
    for volume in client.volumes.list(filters=selector):
        volume.remove(force=True)
    for network in client.networks.list(filters=selector):
        network.remove()
    shutil.rmtree(state_dir(set_name), ignore_errors=True)
    return sorted([*machines, *(c.name for c in containers)])


def containers(set_name: str) -> list[Container]:
    """The set's containers, running or not."""
    return engine.ensure_engine().containers.list(all=True, filters=_set_selector(set_name))


def ssh_address(container: Container) -> str:
    """Where a host's SSH answers (`127.0.0.1:PORT`), or `-` while it is stopped."""
    bound = (container.ports or {}).get("22/tcp") or []
    return ", ".join(f"{b['HostIp']}:{b['HostPort']}" for b in bound) or "-"


def _set_selector(set_name: str) -> dict[str, str]:
    """The filter that lists what belongs to the set: all of it carries the set's label."""
    return {"label": f"{SET_LABEL}={set_name}"}


def _create_container(client: docker.DockerClient, set_name: str, release: str,
                      index: int) -> Container:
    create, host_config = container_spec(set_name, release, index, vm.free_port())
    client.volumes.create(docker_volume_name(create["name"]), labels={SET_LABEL: set_name})
    config = client.api.create_host_config(**host_config) | UNCONFINED_SYSTEM_PATHS
    return client.containers.get(client.api.create_container(host_config=config, **create)["Id"])


def _ssh_port(container: Container) -> int:
    container.reload()
    return int(container.ports["22/tcp"][0]["HostPort"])


def _container_log(client: docker.DockerClient, name: str) -> str:
    return client.containers.get(name).logs(tail=30).decode(errors="replace")


def wait_booted(host: Host, ssh_config: Path, deadline: float, log_tail: Callable[[], str],
                wait_for: str = "true") -> None:
    """Wait until the host accepts our key over SSH and systemd has finished booting.

    Degraded is accepted (a unit that cannot work in a container, seen on trixie); anything
    else means systemd did not boot properly. Then `wait_for` must succeed (a shell command on
    the host, retried until the deadline).
    """
    ssh = ["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
           host.name]
    while True:
        remaining = deadline - time.monotonic()
        try:
            result = subprocess.run(
                [*ssh, "systemctl", "is-system-running", "--wait"],
                capture_output=True, text=True, timeout=max(remaining, 1),
            )
        except subprocess.TimeoutExpired:
            result = None
        if result and result.returncode != 255:  # 255: ssh itself failed, sshd not up yet
            state = result.stdout.strip()
            if state == "running":
                return _wait_for(ssh, wait_for, deadline, host.name)
            failed = subprocess.run([*ssh, "systemctl", "--failed", "--no-legend", "--plain"],
                                    capture_output=True, text=True).stdout.strip()
            if state == "degraded":
                log.warning("%s: systemd degraded; failed units:\n%s", host.name, failed)
                return _wait_for(ssh, wait_for, deadline, host.name)
            raise RehearsalError(f"{host.name}: systemd state {state!r}; failed units:\n{failed}")
        if time.monotonic() >= deadline:
            logs = log_tail()
            detail = result.stderr.strip() if result else "timed out"
            raise RehearsalError(f"{host.name}: not reachable over SSH ({detail}); log:\n{logs}")
        time.sleep(1)


def _wait_for(ssh: list[str], command: str, deadline: float, name: str) -> None:
    """`command` succeeds on the host before the deadline (sshd answers before dockerd)."""
    while subprocess.run([*ssh, command], capture_output=True).returncode != 0:
        if time.monotonic() >= deadline:
            raise RehearsalError(f"{name}: `{command}` still fails")
        time.sleep(2)


def describe(set_name: str, hosts: list[Host]) -> str:
    """How to reach the hosts by hand, with pyinfra, and with testinfra."""
    ssh_config = state_dir(set_name) / "ssh_config"
    env = "" if set_name == DEFAULT_SET else f"AGENTHOST_REHEARSAL_SET={set_name} "
    lines = [f"ssh -F {ssh_config} {h.name}    # {h.release}, 127.0.0.1:{h.port}" for h in hosts]
    lines += [
        f"pyinfra: {env}pyinfra inventory/rehearsal.py deploy.py",
        "testinfra: --hosts=" + ",".join(f"ssh://{h.name}" for h in hosts)
        + f" --ssh-config={ssh_config}",
    ]
    return "\n".join(lines)

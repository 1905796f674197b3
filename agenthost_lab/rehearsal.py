"""Rehearsal hosts: Debian containers that behave like real agent hosts.

Each host runs systemd as PID 1, sshd on a 127.0.0.1 port, and can run a real dockerd, so the
deploy converges it over SSH exactly as it would a machine. Images are built from Debian packages
(debootstrap piped into `docker import`) because no registry is reachable, and cached per release.
Everything created carries the label `agenthost.rehearsal=<set>`, which is what `down` removes.
"""

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
from docker.errors import DockerException
from docker.models.containers import Container

from agenthost_lab import engine
from agenthost_lab.rehearsal_image import (
    RELEASE_LABEL,
    RehearsalError,
    ensure_images,
    ensure_key,
    image_tag,
)

log = logging.getLogger(__name__)

RELEASES = {"bookworm": "12", "trixie": "13"}
DEFAULT_RELEASE = "bookworm"
DEFAULT_SET = "default"

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


@dataclass(frozen=True)
class Host:
    name: str
    release: str
    port: int
    key: str


# --- paths and state ------------------------------------------------------------------------

def state_dir(set_name: str) -> Path:
    base = os.environ.get("AGENTHOST_REHEARSAL_DIR")
    # Beside the inventory that reads it: the working directory, as for pyinfra's group_data.
    root = Path(base) if base else Path.cwd() / ".rehearsal"
    return root / set_name


def load_hosts(set_name: str = DEFAULT_SET) -> list[Host]:
    path = state_dir(set_name) / "hosts.json"
    if not path.exists():
        option = "" if set_name == DEFAULT_SET else f" --set {set_name}"
        raise RehearsalError(
            f"no rehearsal hosts for set {set_name!r} ({path} is missing): "
            f"run `agenthost rehearsal up{option}` first"
        )
    return [Host(**entry) for entry in json.loads(path.read_text())["hosts"]]


def render_ssh_config(hosts: Iterable[Host]) -> str:
    return "".join(
        f"Host {h.name}\n"
        f"  HostName 127.0.0.1\n"
        f"  Port {h.port}\n"
        f"  User root\n"
        f"  IdentityFile {h.key}\n"
        f"  IdentitiesOnly yes\n"
        f"  StrictHostKeyChecking no\n"
        f"  UserKnownHostsFile /dev/null\n"
        f"  LogLevel ERROR\n\n"
        for h in hosts
    )


def inventory_groups(hosts: Iterable[Host]) -> dict[str, list[tuple[str, dict]]]:
    """pyinfra groups: `rehearsal` with every host, and one group per release."""
    groups: dict[str, list[tuple[str, dict]]] = {"rehearsal": [], **{r: [] for r in RELEASES}}
    for h in hosts:
        entry = (h.name, {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": h.port,
            "ssh_user": "root",
            "ssh_key": h.key,
            "ssh_strict_host_key_checking": "no",
            "ssh_known_hosts_file": "/dev/null",
        })
        groups["rehearsal"].append(entry)
        groups[h.release].append(entry)
    return groups


def write_state(set_name: str, hosts: list[Host]) -> Path:
    directory = state_dir(set_name)
    directory.mkdir(parents=True, exist_ok=True)
    state = {"set": set_name, "hosts": [asdict(h) for h in hosts]}
    (directory / "hosts.json").write_text(json.dumps(state, indent=2) + "\n")
    (directory / "ssh_config").write_text(render_ssh_config(hosts))
    return directory


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


def container_spec(set_name: str, release: str, index: int) -> tuple[dict, dict]:
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
        # A random free port on loopback only: hosts are reached nowhere else.
        "port_bindings": {22: ("127.0.0.1", None)},
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
    """Start a fresh set of hosts, e.g. up("e2e", {"bookworm": 2, "trixie": 1}), and wait
    until each is booted and answers on SSH. Leftovers of the same set are removed first."""
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
        waits = [pool.submit(_wait_booted, client, h, directory / "ssh_config", deadline)
                 for h in hosts]  # fmt: skip
        for wait in waits:
            wait.result()
    log.info("%d host(s) booted in %.0fs", len(hosts), time.monotonic() - started)
    return hosts


def down(set_name: str) -> list[str]:
    """Remove the set's containers (stopped ones too), volumes, network and state files; returns
    the names of the hosts removed."""
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
    return sorted(c.name for c in containers)


def ssh_address(container: Container) -> str:
    """Where a host's SSH answers (`127.0.0.1:PORT`), or `-` while it is stopped."""
    bound = (container.ports or {}).get("22/tcp") or []
    return ", ".join(f"{b['HostIp']}:{b['HostPort']}" for b in bound) or "-"


def _set_selector(set_name: str) -> dict[str, str]:
    """The filter that lists what belongs to the set: all of it carries the set's label."""
    return {"label": f"{SET_LABEL}={set_name}"}


def _create_container(client: docker.DockerClient, set_name: str, release: str,
                      index: int) -> Container:
    create, host_config = container_spec(set_name, release, index)
    client.volumes.create(docker_volume_name(create["name"]), labels={SET_LABEL: set_name})
    config = client.api.create_host_config(**host_config) | UNCONFINED_SYSTEM_PATHS
    return client.containers.get(client.api.create_container(host_config=config, **create)["Id"])


def _ssh_port(container: Container) -> int:
    container.reload()
    return int(container.ports["22/tcp"][0]["HostPort"])


def _wait_booted(client: docker.DockerClient, host: Host, ssh_config: Path,
                 deadline: float) -> None:
    """Wait until the host accepts our key over SSH and systemd has finished booting.

    Degraded is accepted (a unit that cannot work in a container, seen on trixie); anything
    else means systemd did not boot properly.
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
                return
            failed = subprocess.run([*ssh, "systemctl", "--failed", "--no-legend", "--plain"],
                                    capture_output=True, text=True).stdout.strip()
            if state == "degraded":
                log.warning("%s: systemd degraded; failed units:\n%s", host.name, failed)
                return
            raise RehearsalError(f"{host.name}: systemd state {state!r}; failed units:\n{failed}")
        if time.monotonic() >= deadline:
            logs = client.containers.get(host.name).logs(tail=30).decode(errors="replace")
            detail = result.stderr.strip() if result else "timed out"
            raise RehearsalError(f"{host.name}: not reachable over SSH ({detail}); log:\n{logs}")
        time.sleep(1)


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


# --- command line ---------------------------------------------------------------------------

def parse_release_list(value: str) -> list[str]:
    """argparse type of --release: a comma-separated list of known releases."""
    releases = [r.strip() for r in value.split(",") if r.strip()]
    unknown = [r for r in releases if r not in RELEASES]
    if unknown or not releases:
        raise argparse.ArgumentTypeError(f"unknown release(s) {unknown}; known: {list(RELEASES)}")
    return releases


def parse_set_name(value: str) -> str:
    """argparse type of --set: it becomes part of container, volume and network names."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", value):
        raise argparse.ArgumentTypeError("use lower-case letters, digits, '.', '_' and '-'")
    return value


def parse_positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("must be a whole number, at least 1")
    return int(value)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rehearsal", help="start or stop local rehearsal hosts (systemd + sshd containers)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="rehearsal_command", required=True)
    set_option = argparse.ArgumentParser(add_help=False)
    set_option.add_argument(
        "--set", "--name", dest="set", type=parse_set_name, default=DEFAULT_SET,
        help="host set, so that e.g. the tests' set does not clash with yours "
             "(default: %(default)s; state in .rehearsal/SET/)")
    release_option = argparse.ArgumentParser(add_help=False)
    release_option.add_argument(
        "--release", action="extend", type=parse_release_list, metavar="RELEASE[,RELEASE...]",
        help=", ".join(f"{r} (Debian {v})" for r, v in RELEASES.items())
        + f"; repeat or comma-separate (default: {DEFAULT_RELEASE})")

    up_parser = commands.add_parser(
        "up", parents=[set_option, release_option],
        help="start a fresh set of hosts and write its inventory",
        description="Start a fresh set of hosts (removing the set's leftovers) and write "
                    ".rehearsal/SET/hosts.json and ssh_config. The hosts are dealt over the "
                    "releases in turn: `--hosts 3 --release bookworm,trixie` starts "
                    "2 bookworm + 1 trixie.")
    up_parser.add_argument("--hosts", type=parse_positive, default=1,
                           help="total number of hosts (default: %(default)s)")
    up_parser.set_defaults(func=_reporting_errors(_cmd_up))

    commands.add_parser(
        "down", parents=[set_option],
        help="remove the set's containers, volumes, network and state",
    ).set_defaults(func=_reporting_errors(_cmd_down))

    commands.add_parser(
        "status", parents=[set_option], help="list the set's containers",
    ).set_defaults(func=_reporting_errors(_cmd_status))

    commands.add_parser(
        "docker-args", parents=[set_option],
        help="print, one a line, the `docker create` options a rehearsal host needs (Vagrantfile)",
    ).set_defaults(func=_cmd_docker_args)

    image_parser = commands.add_parser(
        "image", parents=[release_option],
        help="build or reuse the images only and print their tags (the Vagrantfile runs this)")
    image_parser.add_argument("--rebuild", action="store_true",
                              help="rebuild even if the cached image fits")
    image_parser.set_defaults(func=_reporting_errors(_cmd_image))

    relay_parser = commands.add_parser(
        "relay", parents=[set_option],
        help="serve a slow network in front of the set's hosts (set SET-delayed) until stopped",
        description="Relay each host's SSH port through 127.0.0.1, holding data --delay-ms in "
                    "each direction, and write the set SET-delayed that goes through the relays "
                    "(removed again on SIGINT or SIGTERM).")
    relay_parser.add_argument("--delay-ms", type=parse_positive, default=25,
                              help="delay each way, in ms (default: %(default)s)")
    relay_parser.set_defaults(func=_reporting_errors(_cmd_relay))

    from agenthost_lab import quickstart  # it builds on this module

    quickstart.add_commands(commands, set_option, _reporting_errors)


def _reporting_errors(command: Callable[[argparse.Namespace], int]
                      ) -> Callable[[argparse.Namespace], int]:
    """Expected failures end in a message and exit code 1, not a traceback."""
    def run(args: argparse.Namespace) -> int:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        try:
            return command(args)
        except (RehearsalError, engine.EngineError, DockerException) as error:
            log.error("error: %s", error)
            return 1
    return run


def _cmd_up(args: argparse.Namespace) -> int:
    hosts = up(args.set, spread(args.hosts, args.release or [DEFAULT_RELEASE]))
    print(describe(args.set, hosts))
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    removed = down(args.set)
    print(f"removed set {args.set!r}: {', '.join(removed)}" if removed
          else f"no hosts in set {args.set!r}; nothing removed")  # fmt: skip
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    client = engine.ensure_engine()
    containers = client.containers.list(all=True, filters=_set_selector(args.set))
    for container in containers:
        print(f"{container.name}\t{container.status}\t{ssh_address(container)}")
    if not containers:
        print(f"no hosts in set {args.set!r}")
    return 0


def _cmd_docker_args(args: argparse.Namespace) -> int:
    print("\n".join(docker_cli_options(args.set)))
    return 0


def _cmd_relay(args: argparse.Namespace) -> int:
    from agenthost_lab import rehearsal_relay  # it builds on this module

    rehearsal_relay.run(args.set, args.delay_ms / 1000)
    return 0


def _cmd_image(args: argparse.Namespace) -> int:
    releases = args.release or [DEFAULT_RELEASE]
    ensure_images(releases, rebuild=args.rebuild)
    print("\n".join(image_tag(r) for r in releases))
    return 0

"""Rehearsal hosts: Debian containers that behave like real agent hosts.

Each host runs systemd as PID 1, sshd on a 127.0.0.1 port, and can run a real dockerd, so the
deploy converges it over SSH exactly as it would a machine. Images are built from Debian packages
(debootstrap piped into `docker import`) because no registry is reachable, and cached per release.
Everything created carries the label `agenthost.rehearsal=<set>`, which is what `down` removes.
"""

import argparse
import base64
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from docker.models.images import Image

from agenthost import engine

log = logging.getLogger(__name__)

RELEASES = {"bookworm": "12", "trixie": "13"}
DEFAULT_RELEASE = "bookworm"
DEFAULT_SET = "default"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"

IMAGE_REPO = "agenthost-rehearsal"
SET_LABEL = "agenthost.rehearsal"
RECIPE_LABEL = "agenthost.rehearsal.recipe"
KEY_LABEL = "agenthost.rehearsal.key"
RELEASE_LABEL = "agenthost.rehearsal.release"

# What a minimal real host has, plus what pyinfra (python3, sudo) and the deploy need to start.
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "sudo", "python3",
    "ca-certificates", "iproute2", "procps", "kmod",
)
# Downloaded into the image's apt cache only: the deploy still installs them, without fetching.
PRESEEDED = ("docker.io",)

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


class RehearsalError(RuntimeError):
    """A rehearsal host or image could not be made."""


@dataclass(frozen=True)
class Host:
    name: str
    release: str
    port: int
    key: str


# --- paths and state ------------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agenthost"


def state_dir(set_name: str) -> Path:
    base = os.environ.get("AGENTHOST_REHEARSAL_DIR")
    root = Path(base) if base else Path(__file__).resolve().parent.parent / ".rehearsal"
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


def _write_state(set_name: str, hosts: list[Host]) -> Path:
    directory = state_dir(set_name)
    directory.mkdir(parents=True, exist_ok=True)
    state = {"set": set_name, "hosts": [asdict(h) for h in hosts]}
    (directory / "hosts.json").write_text(json.dumps(state, indent=2) + "\n")
    (directory / "ssh_config").write_text(render_ssh_config(hosts))
    return directory


# --- SSH key --------------------------------------------------------------------------------

def ensure_key() -> Path:
    """The rehearsal SSH key (ed25519), generated once; its public half is baked into images."""
    key = cache_dir() / "rehearsal_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agenthost-rehearsal",
             "-f", str(key)],
            check=True,
        )
    key.chmod(0o600)
    return key


def key_fingerprint(public_key: str) -> str:
    """The OpenSSH SHA256 fingerprint of a public key line, as `ssh-keygen -l` prints it."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


# --- image ----------------------------------------------------------------------------------

def image_tag(release: str) -> str:
    return f"{IMAGE_REPO}:{release}"


def image_files(release: str, public_key: str) -> dict[str, str]:
    """Files written into the root filesystem, by path relative to it."""
    return {
        "etc/apt/sources.list": (
            f"deb {MIRROR} {release} main\n"
            f"deb {MIRROR} {release}-updates main\n"
            f"deb {SECURITY_MIRROR} {release}-security main\n"
        ),
        "etc/hostname": "agenthost-rehearsal\n",
        # Empty: systemd makes a fresh id at each boot, so hosts do not share one.
        "etc/machine-id": "",
        "etc/ssh/sshd_config.d/agenthost-rehearsal.conf": (
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        ),
        # Host keys are removed from the image so that every host generates its own at boot.
        "etc/systemd/system/ssh.service.d/host-keys.conf": (
            "[Service]\nExecStartPre=\n"
            "ExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n"
        ),
        "root/.ssh/authorized_keys": public_key,
    }


def recipe_id(release: str) -> str:
    """Changes whenever what goes into the image changes, so a stale cached image is rebuilt."""
    recipe = [release, MIRROR, PACKAGES, PRESEEDED, image_files(release, "")]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def image_labels(release: str, fingerprint: str) -> dict[str, str]:
    return {RECIPE_LABEL: recipe_id(release), KEY_LABEL: fingerprint, RELEASE_LABEL: release}


def import_changes(labels: Mapping[str, str]) -> list[str]:
    """Dockerfile instructions applied by `docker import`."""
    return [
        'CMD ["/lib/systemd/systemd"]',
        # systemd detects the container from this and skips units that need a real machine.
        "ENV container=docker",
        *(f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()),
    ]


def _ensure_image(client: docker.DockerClient, release: str, rebuild: bool = False) -> Image:
    """The cached image for a release, built if missing, stale, or baked with another key."""
    public_key = ensure_key().with_suffix(".pub").read_text()
    labels = image_labels(release, key_fingerprint(public_key))
    if not rebuild:
        try:
            image = client.images.get(image_tag(release))
            if labels.items() <= image.labels.items():
                log.info("image %s: cached", image_tag(release))
                return image
        except NotFound:
            pass
    started = time.monotonic()
    log.info("image %s: building with debootstrap", image_tag(release))
    with tempfile.TemporaryDirectory(prefix=f"agenthost-{release}-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        _debootstrap(root, release)
        _configure(root, release, public_key)
        image = _import(client, root, release, labels)
    log.info("image %s: built in %.0fs", image_tag(release), time.monotonic() - started)
    return image


def ensure_images(releases: Iterable[str], rebuild: bool = False) -> None:
    """Build or reuse the images of several releases, in parallel."""
    releases = list(dict.fromkeys(releases))
    # Once, before the parallel builds would race to generate the key or run apt-get.
    ensure_key()
    if not shutil.which("debootstrap"):
        engine.apt_install("debootstrap")
    with ThreadPoolExecutor(max_workers=len(releases) or 1) as pool:
        # A client per build: the SDK's HTTP session is not meant to be shared across threads.
        jobs = [pool.submit(_ensure_image, engine.ensure_engine(), r, rebuild) for r in releases]
        for job in jobs:
            job.result()


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RehearsalError(f"{what} failed ({result.returncode}):\n{tail}")


def _debootstrap(root: Path, release: str) -> None:
    _run(
        ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
         release, str(root), MIRROR],
        f"debootstrap {release}",
    )


def _configure(root: Path, release: str, public_key: str) -> None:
    for path in root.glob("etc/ssh/ssh_host_*"):
        path.unlink()
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    for relative, content in image_files(release, public_key).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (root / "root/.ssh").chmod(0o700)
    (root / "root/.ssh/authorized_keys").chmod(0o600)
    # Pre-seed the apt cache (and lists) while the build machine's resolv.conf is still there.
    _run(
        ["chroot", str(root), "sh", "-c",
         "apt-get -q update && apt-get -q install -y --download-only " + " ".join(PRESEEDED)],
        f"pre-seeding apt cache for {release}",
    )
    (root / "etc/resolv.conf").unlink(missing_ok=True)  # Docker provides its own


def _import(client: docker.DockerClient, root: Path, release: str,
            labels: Mapping[str, str]) -> Image:
    tar_command = ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "--exclude=./dev/*",
                   "-c", "."]
    # Leaving the block closes the pipe, so tar cannot outlive a failed import.
    with subprocess.Popen(tar_command, stdout=subprocess.PIPE) as tar:
        client.api.import_image(
            src=tar.stdout, repository=IMAGE_REPO, tag=release,
            changes=import_changes(labels), stream_src=True,
        )
    if tar.returncode != 0:
        raise RehearsalError(f"tar of the {release} root filesystem failed")
    return client.images.get(image_tag(release))


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
    down(set_name)
    labels = {SET_LABEL: set_name}
    client.networks.create(network_name(set_name), driver="bridge", labels=labels)
    key = str(ensure_key())
    hosts = []
    for release in releases:
        for index in range(1, counts[release] + 1):
            container = _create_container(client, set_name, release, index)
            container.start()
            hosts.append(Host(container.name, release, _ssh_port(container), key))
    directory = _write_state(set_name, hosts)
    started = time.monotonic()
    for host in hosts:
        _wait_booted(client, host, directory / "ssh_config", started + BOOT_TIMEOUT)
    log.info("%d host(s) booted in %.0fs", len(hosts), time.monotonic() - started)
    return hosts


def down(set_name: str) -> None:
    """Remove the set's containers (stopped ones too), volumes, network and state files."""
    client = engine.ensure_engine()
    selector = {"label": f"{SET_LABEL}={set_name}"}
    for container in client.containers.list(all=True, filters=selector):
        container.remove(force=True, v=True)
    for volume in client.volumes.list(filters=selector):
        volume.remove(force=True)
    for network in client.networks.list(filters=selector):
        network.remove()
    shutil.rmtree(state_dir(set_name), ignore_errors=True)


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

    image_parser = commands.add_parser(
        "image", parents=[release_option],
        help="build or reuse the images only (run this before `vagrant up`)")
    image_parser.add_argument("--rebuild", action="store_true",
                              help="rebuild even if the cached image fits")
    image_parser.set_defaults(func=_reporting_errors(_cmd_image))


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
    down(args.set)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    client = engine.ensure_engine()
    containers = client.containers.list(all=True, filters={"label": f"{SET_LABEL}={args.set}"})
    for container in containers:
        print(f"{container.name}\t{container.status}\t{container.ports.get('22/tcp')}")
    if not containers:
        print(f"no hosts in set {args.set!r}")
    return 0


def _cmd_image(args: argparse.Namespace) -> int:
    ensure_images(args.release or [DEFAULT_RELEASE], rebuild=args.rebuild)
    return 0

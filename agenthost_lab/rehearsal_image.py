"""The rehearsal-host image of each Debian release, and the SSH key baked into it.

Images are built from Debian packages (debootstrap piped into `docker import`) because no
registry is reachable, and cached per release: a cached image is reused while its labels say it
was built from the same recipe and with the same key.
"""

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from docker.errors import NotFound
from docker.models.images import Image

from agenthost_lab import engine
from agenthost_lab.state import RehearsalError

log = logging.getLogger(__name__)

MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"

IMAGE_REPO = "agenthost-rehearsal"
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
# What a rehearsal host never needs, masked so that 20 of them idle quietly on 2 cores: periodic
# apt, dpkg and filesystem jobs (an apt run would also race the deploy for the dpkg lock), and
# login prompts on a console nobody reads.
MASKED_UNITS = (
    "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
    "e2scrub_reap.service", "fstrim.timer", "man-db.timer", "systemd-tmpfiles-clean.timer",
    "getty@.service", "serial-getty@.service", "console-getty.service",
)


# --- SSH key --------------------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agenthost"


def ensure_key() -> Path:
    """The rehearsal SSH key (ed25519), generated once; its public half is baked into images."""
    key = cache_dir() / "rehearsal_ed25519"
    with engine.machine_lock():
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
    """agenthost-rehearsal:bookworm-<recipe>: checkouts with different recipes that share an
    engine each keep their own image instead of rebuilding the other's in turn."""
    return f"{IMAGE_REPO}:{release}-{recipe_id(release)[:8]}"


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
        # The journal in memory only, and small: a host lives for one test session.
        "etc/systemd/journald.conf.d/agenthost-rehearsal.conf": (
            "[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n"
        ),
    }


def recipe_id(release: str) -> str:
    """Changes whenever what goes into the image changes, so a stale cached image is rebuilt."""
    recipe = [release, MIRROR, PACKAGES, PRESEEDED, MASKED_UNITS, image_files(release, "")]
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


PROGRESS_SECONDS = 10.0


def _run(command: list[str], what: str) -> None:
    """Run a long step, logging its latest output line every PROGRESS_SECONDS, not minutes of
    silence; on failure, its last lines."""
    lines: list[str] = []
    shown = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:  # fmt: skip
        for line in process.stdout:
            lines = [*lines[-29:], line.rstrip()]
            if time.monotonic() - shown >= PROGRESS_SECONDS and line.strip():
                log.info("%s: %s", what, line.strip())
                shown = time.monotonic()
    if process.returncode != 0:
        tail = "\n".join(lines)
        raise RehearsalError(f"{what} failed ({process.returncode}):\n{tail}")


def _debootstrap(root: Path, release: str) -> None:
    _run(
        ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
         release, str(root), MIRROR],
        f"debootstrap {release}",
    )


def prepare_root(root: Path, files: Mapping[str, str]) -> None:
    """Write `files` into a debootstrapped root, mask MASKED_UNITS, and drop what every host
    must make its own (SSH host keys, D-Bus machine id)."""
    for path in root.glob("etc/ssh/ssh_host_*"):
        path.unlink()
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (root / "etc/resolv.conf").unlink(missing_ok=True)  # may be a link to the builder's
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (root / "root/.ssh").chmod(0o700)
    (root / "root/.ssh/authorized_keys").chmod(0o600)
    for unit in MASKED_UNITS:
        mask = root / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")


def _configure(root: Path, release: str, public_key: str) -> None:
    prepare_root(root, image_files(release, public_key))
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")  # for apt, until Docker's
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
            src=tar.stdout, repository=IMAGE_REPO, tag=image_tag(release).split(":")[1],
            changes=import_changes(labels), stream_src=True,
        )
    if tar.returncode != 0:
        raise RehearsalError(f"tar of the {release} root filesystem failed")
    return client.images.get(image_tag(release))

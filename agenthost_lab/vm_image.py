"""The disk image, kernel and initrd of each Debian release's rehearsal VM.

Built from Debian packages only (debootstrap with linux-image-amd64, AppArmor and auditd) and
cached per release and recipe under ~/.cache/agenthost/vm/: a cached image is reused while its
recipe and baked-in SSH key match. VMs boot the kernel directly (no boot loader) and never write
to the image: each writes to a qcow2 overlay of its own (agenthost_lab.vm).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agenthost_lab import engine
from agenthost_lab.rehearsal_image import (
    MASKED_UNITS,
    MIRROR,
    PRESEEDED,
    RehearsalError,
    _run,
    cache_dir,
    ensure_key,
    image_files,
    key_fingerprint,
    prepare_root,
)

log = logging.getLogger(__name__)

# What a minimal real machine has, plus its kernel, AppArmor and auditd (NOTES: one recipe for
# Debian 12 and 13). networkd (in systemd) is the DHCP client: minbase has none.
PACKAGES = (
    "systemd-sysv", "dbus", "openssh-server", "python3", "sudo", "linux-image-amd64",
    "initramfs-tools", "apparmor", "auditd", "iproute2", "procps", "kmod", "ca-certificates",
)
# The initramfs must find the virtio disk (q35 puts it on PCI) and mount ext4 to boot.
INITRAMFS_MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "ext4")
DISK_SIZE = "10G"  # sparse: about 1 GB is written at build time
BUILD_TOOLS = {"debootstrap": "debootstrap", "mkfs.ext4": "e2fsprogs",
               "qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils"}  # fmt: skip


def vm_files(release: str, public_key: str) -> dict[str, str]:
    """Files written into the root filesystem, on top of the container image's."""
    return {
        **image_files(release, public_key),
        "etc/fstab": "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n",
        "etc/hosts": "127.0.0.1 localhost\n",
        # qemu's user-mode DNS; debootstrap copied the building machine's resolver.
        "etc/resolv.conf": "nameserver 10.0.2.3\n",
        "etc/systemd/network/80-eth0.network": "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
        "etc/initramfs-tools/modules": "".join(f"{m}\n" for m in INITRAMFS_MODULES),
        # The journal on disk would grow with every boot of an overlay nobody keeps.
        "etc/systemd/journald.conf.d/agenthost-rehearsal.conf": (
            "[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n"
        ),
    }


def recipe_id(release: str) -> str:
    """Changes whenever what goes into the image changes, so a stale cached image is rebuilt."""
    recipe = [release, MIRROR, PACKAGES, PRESEEDED, MASKED_UNITS, DISK_SIZE,
              vm_files(release, "")]  # fmt: skip
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def image_dir(release: str) -> Path:
    return cache_dir() / "vm" / f"{release}-{recipe_id(release)[:8]}"


def ensure_tools() -> None:
    """qemu, qemu-img, debootstrap and mkfs.ext4 on this machine, installed if missing."""
    missing = [package for tool, package in BUILD_TOOLS.items() if not shutil.which(tool)]
    if missing:
        engine.apt_install(*missing)


def ensure_images(releases: list[str], rebuild: bool = False) -> dict[str, Path]:
    """The image directory (disk.img, vmlinuz, initrd.img) of each release, built if missing,
    stale or baked with another key; several releases are built in parallel."""
    ensure_tools()
    ensure_key()
    releases = list(dict.fromkeys(releases))
    with ThreadPoolExecutor(max_workers=len(releases) or 1) as pool:
        jobs = {r: pool.submit(_ensure_image, r, rebuild) for r in releases}
        return {r: job.result() for r, job in jobs.items()}


def _ensure_image(release: str, rebuild: bool) -> Path:
    public_key = ensure_key().with_suffix(".pub").read_text()
    directory = image_dir(release)
    stamp = directory / "key"
    if not rebuild and stamp.exists() and stamp.read_text() == key_fingerprint(public_key):
        log.info("vm image %s: cached", directory)
        return directory
    started = time.monotonic()
    log.info("vm image %s: building with debootstrap", directory)
    shutil.rmtree(directory, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"agenthost-vm-{release}-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        building = Path(tmp) / "image"
        building.mkdir()
        _run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
              release, str(root), MIRROR], f"debootstrap {release}")  # fmt: skip
        _configure(root, release, public_key)
        _disk(root, building)
        (building / "key").write_text(key_fingerprint(public_key))
        directory.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(building), directory)  # whole or not at all: a cut build is not cached
    log.info("vm image %s: built in %.0fs", directory, time.monotonic() - started)
    return directory


def _configure(root: Path, release: str, public_key: str) -> None:
    prepare_root(root, vm_files(release, public_key))
    wants = root / "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    wants.parent.mkdir(parents=True, exist_ok=True)
    wants.unlink(missing_ok=True)
    wants.symlink_to("/lib/systemd/system/systemd-networkd.service")
    # The apt cache pre-seeded here (the VM's own downloads go through slow emulation); the
    # resolver is the builder's for that step only.
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    _run(["chroot", str(root), "sh", "-c",
          "update-initramfs -u -k all && apt-get -q update && "
          "apt-get -q install -y --download-only " + " ".join(PRESEEDED)],
         f"initramfs and apt cache for {release}")  # fmt: skip
    (root / "etc/resolv.conf").write_text(vm_files(release, "")["etc/resolv.conf"])


def _disk(root: Path, target: Path) -> None:
    """disk.img (ext4 made from the root filesystem), vmlinuz and initrd.img beside it."""
    for name, pattern in (("vmlinuz", "vmlinuz-*"), ("initrd.img", "initrd.img-*")):
        found = sorted((root / "boot").glob(pattern))
        if not found:
            raise RehearsalError(f"no /boot/{pattern} in the root filesystem")
        shutil.copy(found[-1], target / name)
    subprocess.run(["mkfs.ext4", "-q", "-L", "root", "-d", str(root), str(target / "disk.img"),
                    DISK_SIZE], check=True, capture_output=True)  # fmt: skip

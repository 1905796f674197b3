"""Rehearsal hosts that are real machines: Debian VMs under qemu with software emulation.

KVM does not work on these machines, so qemu runs with `-accel tcg` (its code cache bounded:
the default 1 GiB made a VM's RSS reach 3 GB). Each VM boots the cached image's kernel directly,
writes to a throw-away qcow2 overlay in the set's state directory, reaches the network through
qemu's user mode (no bridge, no private addresses) and has its SSH forwarded on 127.0.0.1 only.
A VM's files live in .rehearsal/SET/vm/NAME/: overlay, pid file and serial console log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from agenthost_lab.state import RehearsalError

MEMORY_MB = 2048  # docker.io, an agent container and a pipeline's builds fit
TB_SIZE_MB = 256


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now: the host keeps it for its life, across reboots."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def vcpus(vms: int, cores: int | None = None) -> int:
    """vCPUs per VM: the machine's cores shared out, at least one (one host thread each)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, vms))


def kernel_command_line(name: str) -> str:
    # The hostname from the command line: every VM boots the same image. eth0, as networkd's
    # .network file names it.
    return f"root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.hostname={name}"


def qemu_command(name: str, image: Path, directory: Path, port: int, cpus: int) -> list[str]:
    """qemu's command line for one VM, detached, its console in directory/console.log."""
    return [
        "qemu-system-x86_64", "-name", name,
        "-accel", f"tcg,tb-size={TB_SIZE_MB}", "-machine", "q35",
        "-smp", str(cpus), "-m", str(MEMORY_MB),
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initrd.img"),
        "-append", kernel_command_line(name),
        "-drive", f"file={directory / 'overlay.qcow2'},if=virtio,format=qcow2",
        "-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "virtio-net-pci,netdev=net0",
        "-device", "virtio-rng-pci",  # sshd's key generation at first boot needs entropy
        "-display", "none", "-serial", f"file:{directory / 'console.log'}",
        "-daemonize", "-pidfile", str(directory / "qemu.pid"),
    ]  # fmt: skip


def overlay_command(image: Path, directory: Path) -> list[str]:
    """The VM's overlay: every write goes there, the cached image stays as built."""
    return ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image / "disk.img"),
            "-F", "raw", str(directory / "overlay.qcow2")]  # fmt: skip


def start(name: str, image: Path, directory: Path, port: int, cpus: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for command in (overlay_command(image, directory),
                    qemu_command(name, image, directory, port, cpus)):  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RehearsalError(f"{name}: {command[0]} failed: {result.stderr.strip()}")


def console_tail(directory: Path, lines: int = 30) -> str:
    try:
        text = (directory / "console.log").read_text(errors="replace")
    except OSError as error:
        return f"(no console log: {error})"
    return "\n".join(text.splitlines()[-lines:])


def _qemu_pid(directory: Path) -> int | None:
    """The pid in the pid file while it is still this VM's qemu (a pid is reused once freed)."""
    try:
        pid = int((directory / "qemu.pid").read_text())
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(directory / "overlay.qcow2").encode() in command_line else None


def stop(directory: Path, timeout: float = 10.0) -> None:
    """Power the VM off (its overlay is thrown away with the state directory)."""
    pid = _qemu_pid(directory)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _qemu_pid(directory) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _qemu_pid(directory):
        os.kill(pid, signal.SIGKILL)


def stop_all(vm_root: Path) -> list[str]:
    """Power off every VM whose files are under vm_root (a set's vm/ directory); returns their
    names."""
    directories = sorted(vm_root.glob("*/")) if vm_root.is_dir() else []
    for directory in directories:
        stop(directory)
    return [directory.name for directory in directories]

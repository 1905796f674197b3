"""Make sure a Docker engine answers on this machine.

Build machines here have no systemd as PID 1, so when no engine answers we install Debian's
docker.io if needed and start dockerd ourselves, detached so it outlives this process.
"""

import fcntl
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.errors import DockerException

DOCKERD_LOG = Path("/var/log/agenthost-dockerd.log")
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
MACHINE_LOCK = Path("/tmp/agenthost-lab.lock")
# A booted host holds about 8 (systemd 5, dbus, logind, containerd); room for nested containers.
INOTIFY_PER_HOST = 16

log = logging.getLogger(__name__)


class EngineError(RuntimeError):
    """The build machine could not be prepared: no engine answered, or apt-get failed."""


def ping() -> docker.DockerClient | None:
    """A client for the engine the environment points at (DOCKER_HOST or the local socket) if
    it answers, else None."""
    try:
        client = docker.from_env()
        client.ping()
    except (DockerException, OSError):
        return None
    return client


@contextmanager
def machine_lock() -> Iterator[None]:
    """One lab process at a time changes this machine (apt, dockerd, the SSH key): two at once
    (./scripts/test runs the VM tier beside the rest) would race for dpkg's lock or start two
    dockerds."""
    with MACHINE_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_engine(start_timeout: float = 60.0) -> docker.DockerClient:
    """A client for an answering engine, installing docker.io and starting dockerd if needed."""
    client = ping()
    if client:
        return client
    with machine_lock():
        return ping() or _started_engine(start_timeout)


def _started_engine(start_timeout: float) -> docker.DockerClient:
    if not shutil.which("dockerd"):
        _apt_install("docker.io")
    dockerd = _start_dockerd()
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline and dockerd.poll() is None:
        client = ping()
        if client:
            return client
        time.sleep(1)
    state = "did not answer" if dockerd.poll() is None else f"exited ({dockerd.returncode})"
    raise EngineError(f"dockerd {state}; last lines of {DOCKERD_LOG}:\n{_log_tail()}")


def ensure_inotify_instances(hosts: int) -> None:
    """Every host's systemd takes inotify instances from root's single per-user limit (128 by
    default): about 15 hosts exhaust it, and then units fail and sshd may never start. Raise the
    limit for `hosts` more, as kind's documentation advises for many nodes."""
    current = int(INOTIFY_INSTANCES.read_text())
    wanted = 128 + INOTIFY_PER_HOST * hosts
    if current >= wanted:
        return
    try:
        INOTIFY_INSTANCES.write_text(str(wanted))
    except OSError as error:
        raise EngineError(
            f"fs.inotify.max_user_instances is {current}; {hosts} hosts need about {wanted}: "
            f"sysctl -w fs.inotify.max_user_instances={wanted} ({error})"
        ) from None
    log.info("fs.inotify.max_user_instances raised from %d to %d", current, wanted)


def apt_install(*packages: str) -> None:
    """Install Debian packages on this (build) machine."""
    with machine_lock():
        _apt_install(*packages)


def _apt_install(*packages: str) -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for command in (["apt-get", "-q", "update"], ["apt-get", "-q", "install", "-y", *packages]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise EngineError(f"{' '.join(command)} failed:\n{tail}")


def _start_dockerd() -> subprocess.Popen:
    # A new session and no inherited stdio: dockerd must outlive us and not hold our pipes.
    with DOCKERD_LOG.open("ab") as log:
        return subprocess.Popen(
            ["dockerd"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(DOCKERD_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"

"""Make sure a Docker engine answers on this machine.

Build machines here have no systemd as PID 1, so when no engine answers we install Debian's
docker.io if needed and start dockerd ourselves, detached so it outlives this process.
"""

import shutil
import subprocess
import time
from pathlib import Path

import docker
from docker.errors import DockerException

DOCKERD_LOG = Path("/var/log/agenthost-dockerd.log")


class EngineError(RuntimeError):
    """No Docker engine could be reached or started."""


def ping(timeout: int = 600) -> docker.DockerClient | None:
    """Return a client for the engine from the environment if it answers, else None."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (DockerException, OSError):
        return None
    return client


def ensure_engine(start_timeout: float = 60.0) -> docker.DockerClient:
    """Return a client for an answering engine, installing and starting dockerd if needed."""
    client = ping()
    if client:
        return client
    if not shutil.which("dockerd"):
        _install_docker_io()
    _start_dockerd()
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        client = ping()
        if client:
            return client
        time.sleep(1)
    raise EngineError(
        f"dockerd did not answer within {start_timeout:.0f}s; last lines of {DOCKERD_LOG}:\n"
        + log_tail()
    )


def log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(DOCKERD_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"


def _install_docker_io() -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "docker.io"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise EngineError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def _start_dockerd() -> None:
    # setsid + no inherited stdio: the daemon must not die with our session or hold our pipes.
    with DOCKERD_LOG.open("ab") as log:
        subprocess.Popen(
            ["dockerd"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

"""Reaching an agent host over SSH to read it: testinfra for commands, the Docker SDK for the API.

The Docker SDK's own `ssh://` transport cannot reach hosts the way pyinfra inventories describe
them: with paramiko it reads only ~/.ssh/config and refuses unknown host keys, and with
`use_ssh_client` it passes nothing but user and port to `ssh`. So the SDK is given a local unix
socket instead, and each connection to it is served, inetd-style, by `ssh HOST docker system
dial-stdio` (the command the SDK itself runs remotely) with all of the host's SSH options, sudo
included. Everything shares one SSH master connection per host, which is closed at the end.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import testinfra
from testinfra.host import Host as TestinfraHost

CONNECT_TIMEOUT = 10
DOCKER_TIMEOUT = 60
# pyinfra's own default for hosts the inventory says nothing about.
PYINFRA_HOST_KEY_CHECKING = "accept-new"


class RemoteError(RuntimeError):
    """A host could not be reached; the message names it and says why."""


@dataclass(frozen=True)
class Target:
    """How to reach one host with the `ssh` command line."""

    name: str  # as reports name it: the inventory's host name
    address: str  # what ssh connects to: a host name, an address, or a Host of ssh_config
    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    ssh_config: str | None = None
    options: tuple[str, ...] = ()  # `ssh -o` options, e.g. StrictHostKeyChecking=no
    sudo: bool = False


def target_from_pyinfra(name: str, data: dict[str, Any]) -> Target:
    """The target of a pyinfra inventory host, from its connector data (ssh_* keys, _sudo)."""
    if name.startswith("@"):
        raise RemoteError(f"{name}: only hosts reached over SSH can be checked")
    checking = data.get("ssh_strict_host_key_checking") or PYINFRA_HOST_KEY_CHECKING
    options = [f"StrictHostKeyChecking={checking}"]
    if data.get("ssh_known_hosts_file"):
        options.append(f"UserKnownHostsFile={data['ssh_known_hosts_file']}")
    return Target(
        name=name,
        address=data.get("ssh_hostname") or name,
        user=data.get("ssh_user"),
        port=int(data["ssh_port"]) if data.get("ssh_port") else None,
        identity_file=data.get("ssh_key"),
        ssh_config=data.get("ssh_config_file"),
        options=tuple(options),
        sudo=bool(data.get("_sudo")),
    )


def target_from_hostspec(
    spec: str, ssh_config: str | None = None, identity_file: str | None = None, sudo: bool = False
) -> Target:
    """The target of a testinfra host spec such as ssh://user@host:2222 (its --hosts); options
    come as arguments, as testinfra's command line gives them, not in the spec's query."""
    scheme, _, rest = spec.partition("?")[0].rpartition("://")
    if scheme not in ("", "ssh", "paramiko", "safe-ssh"):
        raise RemoteError(f"{spec}: only hosts reached over SSH can be checked")
    userinfo, _, hostport = rest.rpartition("@")
    address, _, port = hostport.partition(":")
    return Target(
        name=address,
        address=address,
        user=userinfo or None,
        port=int(port) if port else None,
        identity_file=identity_file,
        ssh_config=ssh_config,
        sudo=sudo,
    )


def ssh_options(target: Target) -> list[str]:
    """`ssh` arguments for the target, without the destination."""
    args = _options(target)
    if target.user:
        args += ["-l", target.user]
    if target.port:
        args += ["-p", str(target.port)]
    return args


def _options(target: Target) -> list[str]:
    """What `ssh_options` gives but user and port, which testinfra takes in its host spec."""
    args = ["-F", target.ssh_config] if target.ssh_config else []
    if target.identity_file:
        args += ["-i", str(Path(target.identity_file).expanduser())]
    for option in ("BatchMode=yes", f"ConnectTimeout={CONNECT_TIMEOUT}", *target.options):
        args += ["-o", option]
    return args


def dial_stdio_command(target: Target, control_path: str) -> list[str]:
    """The command that connects its stdin and stdout to the host's Docker API."""
    remote = ["docker", "system", "dial-stdio"]
    return [
        "ssh", *ssh_options(target), "-o", "ControlMaster=no", "-o", f"ControlPath={control_path}",
        target.address, "--", *(["sudo", "-n", *remote] if target.sudo else remote),
    ]  # fmt: skip


def testinfra_host(target: Target, control_path: str) -> TestinfraHost:
    """A testinfra host (ssh backend) that runs its commands over the target's master connection."""
    user = f"{target.user}@" if target.user else ""
    port = f":{target.port}" if target.port else ""
    return testinfra.get_host(
        f"ssh://{user}{target.address}{port}",
        ssh_extra_args=shlex.join(_options(target)),
        controlpath=control_path,
        sudo=target.sudo,
    )


@contextmanager
def connect(target: Target) -> Iterator[tuple[TestinfraHost, docker.DockerClient]]:
    """A testinfra host and a Docker client for the target; RemoteError if it cannot be reached."""
    with tempfile.TemporaryDirectory(prefix="agenthost-ssh-") as tmp:
        control_path = f"{tmp}/master"
        ssh = ["ssh", *ssh_options(target), "-o", f"ControlPath={control_path}"]
        # The master outlives this first command, idle for at most ControlPersist seconds.
        started = subprocess.run(
            [*ssh, "-o", "ControlMaster=yes", "-o", "ControlPersist=300", target.address, "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if started.returncode != 0:
            raise RemoteError(f"{target.name}: ssh failed: {started.stderr.strip()}")
        try:
            with _unix_socket_server(dial_stdio_command(target, control_path), tmp) as path:
                client = docker.DockerClient(
                    base_url=f"unix://{path}", version="auto", timeout=DOCKER_TIMEOUT
                )
                try:
                    yield testinfra_host(target, control_path), client
                finally:
                    client.close()
        finally:
            subprocess.run([*ssh, "-O", "exit", target.address], capture_output=True)


@contextmanager
def _unix_socket_server(command: list[str], directory: str) -> Iterator[str]:
    """A unix socket whose every connection is handed to a new `command` as its stdin and stdout."""
    path = f"{directory}/docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    processes: list[subprocess.Popen] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # the server was shut down
                return
            with connection:  # the child has its own copy
                processes.append(subprocess.Popen(
                    command, stdin=connection, stdout=connection, stderr=subprocess.DEVNULL
                ))  # fmt: skip

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes accept() up
        server.close()
        thread.join()
        for process in processes:
            process.terminate()
            process.wait()

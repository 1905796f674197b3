"""`docker run` arguments for a Docker-out-of-Docker agent container, and the hash of its spec.

Docker's restart policy (unless-stopped) keeps agents running, not a systemd unit: dockerd restarts
a crashed agent and starts it again at boot, the container (and its ID) survives reboots and
daemon restarts, and an operator's `docker stop` is respected until the next deploy. A unit
running `docker run` would create a new container on every start and duplicate what dockerd does.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

from agenthost.docker_args import health_args, publish
from agenthost.settings import AgentContainer

AGENT_LABEL = "agenthost.agent"  # value: the container's name; the prune timer spares these
SPEC_LABEL = "agenthost.spec"  # value: spec_hash() of everything the container was run with
PARTS_LABEL = "agenthost.parts"  # value: parts() as JSON, for drift to say which parts differ
BARE_FLAGS = ("--init", "--no-healthcheck")  # run_args' options that take no value
PART_OF = {"--volume": "mounts", "--env": "environment names", "--env-file": "env file",
           "--memory": "limits", "--cpus": "limits", "--publish": "ports",
           "--user": "user"}  # fmt: skip
DOCKER_SOCKET = "/var/run/docker.sock"
# Where an inbound agent finds its secret: JENKINS_SECRET=@file, which the image's jenkins-agent
# passes on as `-secret @file`, and remoting reads the secret from that file.
SECRET_MOUNT = "/run/agenthost/jenkins-secret"


class HostIds(NamedTuple):
    """What only the host knows, read there at execution."""

    uid: int  # the agent user's
    gid: int  # the agent user's primary group


def identity_args(ids: HostIds, userns_agent: str | None) -> list[str]:
    """Who the agent runs as: the agent on the host, which owns its policy socket. Under
    userns-remap the container is remapped like any other, as the container id that is the agent
    on the host; without it, the agent's own ids."""
    if userns_agent == "root":
        return ["--user", "0:0"]
    return ["--user", f"{ids.uid}:{ids.gid}"]


def run_args(spec: AgentContainer, ids: HostIds, workspace: str, userns_agent: str | None,
             env_file: str | None, socket: str, secret_file: str | None = None,
             image_health: bool = True) -> list[str]:  # fmt: skip
    """Everything after `docker run --detach`, without the spec label.

    `userns_agent` is Settings.userns_agent: `root`, `uid`, or None without userns-remap;
    `socket` the host path of the container's policy socket, its Docker socket inside;
    `secret_file` the host path of an inbound agent's secret, mounted read-only at SECRET_MOUNT;
    `image_health` whether the image has a HEALTHCHECK of its own.
    """
    args = [
        "--name", spec.name,
        "--restart", "unless-stopped",
        *identity_args(ids, userns_agent),
        "--volume", f"{socket}:{DOCKER_SOCKET}",
        # Paths the agent hands to sibling containers are host paths: same path on both sides.
        "--volume", f"{workspace}:{workspace}",
        "--workdir", workspace,
        "--stop-timeout", str(spec.stop_timeout),
        "--label", f"{AGENT_LABEL}={spec.name}",
    ]  # fmt: skip
    if spec.kind == "jenkins-inbound":
        # The remoting process is no init: --init reaps its builds' orphans and forwards signals.
        args += ["--init"]
        if "JENKINS_AGENT_WORKDIR" not in spec.environment:
            args += ["--env", f"JENKINS_AGENT_WORKDIR={workspace}"]
    if secret_file:
        args += ["--volume", f"{secret_file}:{SECRET_MOUNT}:ro"]
    for volume in spec.volumes:
        args += ["--volume", volume]
    for port in spec.ports:
        args += ["--publish", publish(port)]
    if spec.memory:
        args += ["--memory", spec.memory]
    if spec.cpus:
        args += ["--cpus", str(spec.cpus)]
    if spec.pids_limit:
        args += ["--pids-limit", str(spec.pids_limit)]
    for key, value in sorted(spec.labels.items()):
        args += ["--label", f"{key}={value}"]
    for key, value in sorted(spec.environment.items()):
        args += ["--env", f"{key}={value}"]
    if env_file:
        args += ["--env-file", env_file]
    args += health_args(spec.healthcheck, spec.kind, image_health)
    return [*args, spec.image, *spec.command]


def inbound_secret(env: str) -> tuple[str, str | None]:
    """An env file's text with JENKINS_SECRET pointing at SECRET_MOUNT instead, and the secret
    (None if the file sets none): the container's environment never holds it."""
    lines, secret = [], None
    for line in env.splitlines():
        name, equals, value = line.partition("=")
        if equals and name.strip() == "JENKINS_SECRET":
            secret, line = value.strip(), f"JENKINS_SECRET=@{SECRET_MOUNT}"
        lines.append(line)
    return "".join(f"{line}\n" for line in lines) if secret is not None else env, secret


def secrets_sha256(env_file_sha256: str | None, secret_sha256: str | None) -> str | None:
    """What the spec hash holds of an agent's secrets: its env file's, and its secret file's."""
    if secret_sha256 is None or env_file_sha256 is None:
        return env_file_sha256
    return hashlib.sha256(f"{env_file_sha256} {secret_sha256}".encode()).hexdigest()


def env_file_content(secrets: str, spec: AgentContainer, proxy_env: dict[str, str]) -> str:
    """The root-only env file: the operator's secrets, and for an inbound agent the proxies
    (they may carry credentials, so they stay out of the arguments and the output)."""
    if spec.kind != "jenkins-inbound" or not proxy_env:
        return secrets
    head = secrets if not secrets or secrets.endswith("\n") else secrets + "\n"
    return head + "".join(f"{name}={value}\n" for name, value in proxy_env.items())


def spec_hash(args: list[str], image_id: str, env_file_sha256: str | None) -> str:
    """Changes when anything the container runs with changes, a secret's content included."""
    spec = {"args": args, "image_id": image_id, "env_file_sha256": env_file_sha256}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def labelled(args: list[str], digest: str, parts: dict | None = None) -> list[str]:
    """`args` with the spec label (and the parts label) put before the image."""
    recorded = ["--label", f"{PARTS_LABEL}={json.dumps(parts, sort_keys=True)}"] if parts else []
    return ["--label", f"{SPEC_LABEL}={digest}", *recorded, *args]


def parts(args: list[str], image_id: str, env_file_sha256: str | None) -> dict[str, list[str]]:
    """run_args by part (image, mounts, limits, environment names, ...) for drift to name what
    differs. Environment values are left out: names only, the env file by checksum."""
    found: dict[str, list[str]] = {}
    index = 0
    while index < len(args) and args[index].startswith("--"):
        flag = args[index]
        value = None if flag in BARE_FLAGS else args[index + 1]
        index += 1 if value is None else 2
        part = PART_OF.get(flag, "options")
        if flag == "--env":
            value = value.split("=", 1)[0]
        with_flag = part in ("options", "limits")
        shown = " ".join(filter(None, (flag, value))) if with_flag else value
        found.setdefault(part, []).append(shown)
    found["image"] = [f"{args[index]} ({image_id[:19]})"]
    found["command"] = args[index + 1:]
    found["env file content"] = [env_file_sha256[:16]] if env_file_sha256 else []
    return found

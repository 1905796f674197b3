"""Docker-out-of-Docker agent containers, recreated only when their spec changes.

pyinfra's docker.container does not fit: its comparison with the running container is a stub, so
a changed spec is never applied. Here the whole spec is hashed into a label, and the host's ids,
the image and that label are read on the host when the operation runs.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

from pyinfra import host
from pyinfra.api import (
    FactBase,
    QuoteString,
    StringCommand,
    deploy,
    operation,
)
from pyinfra.facts.files import Sha256File
from pyinfra.facts.hardware import Cpus

from agenthost import desired, engine, explain, proxy, safety
from agenthost.agent_container import (
    AGENT_LABEL,
    PARTS_LABEL,
    SPEC_LABEL,
    HostIds,
    env_file_content,
    inbound_secret,
    labelled,
    parts,
    run_args,
    secrets_sha256,
    spec_hash,
)  # fmt: skip
from agenthost.hostdata import invalid_settings
from agenthost.operations.accounts import UserAccount
from agenthost.operations.docker import DockerImage
from agenthost.operations.files import Directory, ManagedFileState, directory, managed_file
from agenthost.operations.plan import ShownCommand, not_checked, pending
from agenthost.paths import AGENT_ENV_DIR, AGENT_SECRET_DIR, agent_env_file, agent_secret_file
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.replace import replace_script, verify
from agenthost.settings import AgentContainer, Settings

# One line per container (labels as JSON, so on one line too).
_SPEC_FIELDS = (
    "{{.State.Status}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{json .Config.Labels}}"
)


def _inspect(fields: str, containers: tuple[str, ...]) -> str:
    # Exits 1 when one of them is missing, and still prints the others.
    return (
        f"docker container inspect --format {shlex.quote(fields)} {shlex.join(containers)}"
        " 2>/dev/null || true"
    )


class ContainerSpecs(FactBase):
    """What `ContainerSpec` prints for each of the containers `values`, by one `docker container
    inspect` (reads.snapshot batches reads with it): {"ci-agent": ["running 0 0 {...}"]},
    without the containers that do not exist."""

    default = dict

    def command(self, values: tuple[str, ...]) -> str:
        return _inspect("{{.Name}} " + _SPEC_FIELDS, values)

    def process(self, output: list[str]) -> dict[str, list[str]]:
        printed = (line.split(" ", 1) for line in output if line.startswith("/"))
        return {name[1:]: [spec] for name, spec in printed}


class ContainerSpec(FactBase):
    """A container's state, spec label and live limits (which `docker update` changes), or None
    when there is no such container."""

    batch = ContainerSpecs

    def requires_command(self, container: str) -> str:
        return "docker"

    def command(self, container: str) -> str:
        return _inspect(_SPEC_FIELDS, (container,))

    def process(self, output: list[str]) -> dict[str, str | None] | None:
        found = [line.split(" ", 1) for line in output if line.strip()]
        if not found:
            return None
        status, memory, nano_cpus, labels = found[0][0], *found[0][1].split(" ", 2)
        labels = json.loads(labels) or {}
        return {
            "status": status,
            "spec": labels.get(SPEC_LABEL),
            "parts": json.loads(labels[PARTS_LABEL]) if PARTS_LABEL in labels else None,
            "memory": int(memory),
            "nano_cpus": int(nano_cpus),
        }


class AgentContainers(FactBase):
    """Every container that carries our agent label, with its state:

        {"ci-agent": "running", "old-agent": "exited"}
    """

    default = dict

    def requires_command(self) -> str:
        return "docker"

    def command(self) -> str:
        # A stopped dockerd lists none: the dry run then reports dockerd, not a failed fact.
        return (
            f"docker container ls --all --filter label={AGENT_LABEL}"
            " --format '{{.Names}} {{.State}}' 2>/dev/null || true"
        )

    def process(self, output: list[str]) -> dict[str, str]:
        return dict(line.split(" ", 1) for line in output if " " in line)


@operation()
def agent_container(spec: AgentContainer, user: str, workspace: str, userns_agent: str | None,
                    socket: str, env_file: str | None = None,
                    env_file_sha256: str | None = None,
                    secret_file: str | None = None):  # fmt: skip
    """Container `spec.name` runs `spec`; recreated (safely, see agenthost.replace) when the
    spec's hash or its live limits changed, restarted when stopped or crash-looping.

    + userns_agent: Settings.userns_agent (`root`, `uid`, or None without userns-remap)
    + socket: the host path of its policy socket (desired.policy_socket)
    + env_file_sha256: agent_container.secrets_sha256 of its env file and secret file; None:
      read from the host's copies
    + secret_file: the host path of an inbound agent's secret, mounted read-only
    """
    account = read(UserAccount, user=user)
    image = read(DockerImage, object_id=spec.image)
    missing = [what for what, found in ((f"user {user}", account), (f"image {spec.image}", image))
               if not found]  # fmt: skip
    if missing:
        yield pending(f"container {spec.name} cannot run: no {', '.join(missing)}",
                      f"{spec.name} runs once there are {', '.join(missing)}")  # fmt: skip
        return
    ids = HostIds(account["uid"], account["gid"])
    health = ((image[0].get("Config") or {}).get("Healthcheck") or {}).get("Test")
    args = run_args(spec, ids, workspace, userns_agent, env_file, socket, secret_file,
                    image_health=bool(health))  # fmt: skip
    if env_file and env_file_sha256 is None:
        secret_sha256 = read(Sha256File, path=secret_file) if secret_file else None
        env_file_sha256 = secrets_sha256(read(Sha256File, path=env_file), secret_sha256)
    digest = spec_hash(args, image[0]["Id"], env_file_sha256)
    current = read(ContainerSpec, container=spec.name)
    wanted = parts(args, image[0]["Id"], env_file_sha256)
    if current and current["spec"] == digest and limits(current) == limits_of(spec):
        if current["status"] == "running":
            host.noop(f"{spec.name} runs the configured spec")
            return
        explain.record(explain.Difference(f"container {spec.name}", "running", current["status"]))
        # Stopped, or crash-looping (restarting): started again and seen running, or the
        # host fails with Docker's reason.
        yield ShownCommand(
            "docker", "container", "restart", QuoteString(spec.name), ">/dev/null", "&&",
            "{", verify(spec.name, spec.health_timeout), ";", "}",
        )  # fmt: skip
        return
    for difference in explain.container(spec.name, wanted, current,
                                        bool(current) and current["spec"] == digest,
                                        bool(current) and limits(current) != limits_of(spec)):
        explain.record(difference)
    yield ShownCommand(replace_script(spec.name, labelled(args, digest, wanted),
                                      bool(spec.ports), spec.health_timeout))


def limits_of(spec: AgentContainer) -> tuple[int, int]:
    """The memory (bytes) and NanoCpus Docker keeps for `spec`; 0 is no limit."""
    memory = safety.memory_bytes(spec.memory) if spec.memory else 0
    return memory, round((spec.cpus or 0) * 1e9)


def limits(current: dict) -> tuple[int, int]:
    return current["memory"], current["nano_cpus"]


@operation()
def agent_containers_only(names: list[str]):
    """No agent container, nor its secrets, is left that the settings no longer list."""
    extra = [name for name in read(AgentContainers) if name not in names]
    if not extra:
        host.noop("no other agent container exists")
        return
    explain.record(explain.Difference("agent containers", f"only {', '.join(names) or 'none'}",
                                      f"also {', '.join(extra)}"))  # fmt: skip
    for name in extra:
        yield StringCommand("docker", "container", "stop", QuoteString(name))
        yield StringCommand("docker", "container", "rm", QuoteString(name))
        yield StringCommand("rm", "-f", QuoteString(agent_env_file(name)),
                            QuoteString(agent_secret_file(name)))


def agent_secrets(settings: Settings, spec: AgentContainer, env_file: str | None,
                  secret_file: str | None) -> str | None:
    """The host's copies of `spec`'s env_file, root-only, and of an inbound agent's secret, the
    agent's to read; their secrets_sha256. None on a machine without the env_file (drift): the
    host's copies stand for it."""
    if not env_file:
        return None
    local = Path(spec.env_file).expanduser()
    if not local.is_file():
        not_checked(f"file {env_file}: content (the env_file is not on this machine)")
        return None
    env, secret = inbound_secret(local.read_text()) if secret_file else (local.read_text(), None)
    content = env_file_content(env, spec, proxy.variables(settings))
    managed_file(name=f"{env_file} holds the secrets of {spec.name}, root-only", path=env_file,
                 content=content, mode="600", secret=True)  # fmt: skip
    if not secret_file:
        return sha256(content)
    # Written even without a JENKINS_SECRET in env_file: a missing mount source would become a
    # directory.
    secret = secret or ""
    managed_file(name=f"{secret_file} holds the secret of {spec.name}, the agent's only",
                 path=secret_file, content=secret, mode="400", user=settings.agent_user,
                 secret=True)  # fmt: skip
    return secrets_sha256(sha256(content), sha256(secret))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def refuse_more_cpus_than_the_host(settings: Settings) -> None:
    """While pyinfra plans, before it runs anything on any host: a container given more CPUs
    than the host has would fail at its start, mid-run."""
    cores = read(Cpus) if any(spec.cpus for spec in settings.agent_containers) else None
    refused = [f"host {host.name}: agent_containers.{i}.cpus = {spec.cpus}: more than the"
               f" {cores} CPUs {host.name} has"
               for i, spec in enumerate(settings.agent_containers)
               if cores and spec.cpus and spec.cpus > cores]  # fmt: skip
    if refused:
        raise invalid_settings(refused)


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    containers = settings.agent_containers
    env_files = [agent_env_file(c.name) for c in containers if c.env_file]
    secrets = [agent_secret_file(c.name) for c in containers if c.kind == "jenkins-inbound"]
    return [
        *([Read(Directory, path=AGENT_ENV_DIR)] if env_files else []),
        *([Read(Directory, path=AGENT_SECRET_DIR)] if secrets else []),
        *(Read(ContainerSpec, container=c.name) for c in containers),
        *(Read(ManagedFileState, path=path) for path in [*env_files, *secrets]),
        Read(AgentContainers),
        *([Read(Cpus)] if any(c.cpus for c in containers) else []),
    ]


@declares(_reads)
@deploy("Agent containers")
def agent_containers(settings: Settings) -> None:
    refuse_more_cpus_than_the_host(settings)
    if any(spec.env_file for spec in settings.agent_containers):
        directory(name=f"{AGENT_ENV_DIR} is root-only", path=AGENT_ENV_DIR,
                  user="root", group="root", mode="700")  # fmt: skip
    if any(spec.kind == "jenkins-inbound" for spec in settings.agent_containers):
        directory(name=f"{AGENT_SECRET_DIR} is root's, passable", path=AGENT_SECRET_DIR,
                  user="root", group="root", mode="711")  # fmt: skip
    for spec in settings.agent_containers:
        env_file = agent_env_file(spec.name) if spec.env_file else None
        secret_file = agent_secret_file(spec.name) if spec.kind == "jenkins-inbound" else None
        agent_container(
            name=f"Agent container {spec.name} runs the configured spec",
            spec=spec,
            user=settings.agent_user,
            workspace=settings.agent_workspace,
            userns_agent=settings.userns_agent,
            socket=desired.policy_socket(settings, spec.name),
            env_file=env_file,
            env_file_sha256=agent_secrets(settings, spec, env_file, secret_file),
            secret_file=secret_file,
        )
    agent_containers_only(
        name="No agent container runs that the settings do not list",
        names=[spec.name for spec in settings.agent_containers],
    )

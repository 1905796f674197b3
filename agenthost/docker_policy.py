"""The Docker policy's settings and what they put on a host: the allowances (a setting per host
and per agent container), the socket each agent is given, and the policy file its service reads.

agenthost.policy enforces them on the host; this module only describes them.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Each socket is an instance of these template units (agenthost-docker-policy@NAME.socket).
UNIT = "agenthost-docker-policy"
SOCKET_DIR = "/run/agenthost-docker"
CONFIG_DIR = "/etc/agenthost/docker-policy"
PROGRAM_DIR = "/usr/local/lib/agenthost"  # holds the package `policy`, run as python3 -m
ACCOUNT = "account"  # the instance for the agent account itself (SSH agents)
CONTEXT = "agenthost"  # the agent's Docker context, which names the account's socket


class DockerPolicy(BaseModel):
    """What agents may ask Docker beyond the remapped, confined default; each one a root
    escape or close to it, to allow knowingly."""

    model_config = ConfigDict(extra="forbid")

    privileged: bool = Field(False, description="Privileged containers and execs.")
    userns_host: bool = Field(False, description="Containers outside userns-remap (--userns).")
    host_namespaces: bool = Field(
        False, description="The host's PID, IPC, UTS or cgroup namespace (--pid host, ...)."
    )
    capabilities: list[str] = Field(
        default_factory=list, description="Capabilities builds may add (--cap-add), e.g. NET_ADMIN."
    )
    devices: bool = Field(False, description="Host devices (--device, --gpus).")
    unconfined: bool = Field(
        False, description="Unconfined AppArmor, seccomp, SELinux or system paths (--security-opt)."
    )
    bind_paths: list[str] = Field(
        default_factory=list,
        description="Host paths builds may bind-mount besides the workspace (and volume options).",
    )
    docker_socket: bool = Field(False, description="Bind mounts of Docker's own sockets.")
    plugins: bool = Field(False, description="Installing and changing Docker plugins.")

    @field_validator("capabilities")
    @classmethod
    def _capabilities(cls, value: list[str]) -> list[str]:
        names = [cap.upper().removeprefix("CAP_") for cap in value]
        bad = [cap for cap in names if not cap.replace("_", "").isalpha()]
        if bad:
            raise ValueError(f"{bad} are not capability names (e.g. NET_ADMIN)")
        return names

    @field_validator("bind_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        relative = [path for path in value if not path.startswith("/")]
        if relative:
            raise ValueError(f"{relative}: host paths are absolute")
        return value

    def union(self, other: DockerPolicy) -> DockerPolicy:
        """What either allows."""
        merged = {}
        for name, value in self:
            theirs = getattr(other, name)
            merged[name] = sorted({*value, *theirs}) if isinstance(value, list) else value or theirs
        return DockerPolicy(**merged)


class PolicySocket(BaseModel):
    """One policy socket on a host: who gets it and what it allows."""

    instance: str
    setting: str  # where its allowances come from, named in refusals
    allow: DockerPolicy
    binds: list[str]  # host paths the agent's own settings declare
    kind: Literal["account", "container"]

    @property
    def path(self) -> str:
        return socket_path(self.instance)

    @property
    def config_path(self) -> str:
        return f"{CONFIG_DIR}/{self.instance}.json"

    @property
    def unit(self) -> str:
        return f"{UNIT}@{self.instance}.socket"

    def config(self) -> str:
        data = {"socket": self.path, "setting": self.setting, "binds": self.binds,
                "allow": self.allow.model_dump()}  # fmt: skip
        return json.dumps(data, sort_keys=True, indent=2) + "\n"


def container_instance(name: str) -> str:
    return f"container-{name}"


def socket_path(instance: str) -> str:
    return f"{SOCKET_DIR}/{instance}.sock"

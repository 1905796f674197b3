"""One agent container's settings: an entry of `agent_containers`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agenthost import docker_args, safety
from agenthost.docker_policy import DockerPolicy


class AgentContainer(BaseModel):
    """One Docker-out-of-Docker agent container."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", description="Container name.")
    image: str = Field(description="Image reference; preload it with docker_image_preload.")
    kind: Literal["dood", "jenkins-inbound"] = Field(
        "dood",
        description="`jenkins-inbound`: a Jenkins inbound agent (--init, the proxies, its"
        " JENKINS_SECRET from env_file as a mounted file, never in its environment).",
    )
    command: list[str] = Field(default_factory=list, description="Command, empty for the image's.")
    environment: dict[str, str] = Field(default_factory=dict, description="Plain environment.")
    env_file: str | None = Field(None, description="Local file with secret KEY=value lines.")
    volumes: list[str] = Field(
        default_factory=list, description="Extra host:container[:mode] binds."
    )
    ports: list[str] = Field(
        default_factory=list, description="Published ports, [ip:]host:container."
    )
    memory: str | None = Field(
        "2g", description="Memory limit (docker --memory), with a unit, at least 6m."
    )
    cpus: float | None = Field(
        2.0, ge=0.01, allow_inf_nan=False,
        description="CPU limit (docker --cpus), at most the host's CPUs.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Container labels.")
    healthcheck: list[str] | None = Field(
        None,
        description="Health check test ([CMD, arg...], [CMD-SHELL, command] or [NONE]); none: the"
        " image's HEALTHCHECK, else `docker version` (dood) or its process alive (inbound).",
    )
    pids_limit: int | None = Field(
        4096, ge=32, le=4194304,
        description="Processes and threads it may run (docker --pids-limit); none: no limit.",
    )
    stop_timeout: int = Field(
        300, ge=0, le=3600, description="Seconds `docker stop` waits before SIGKILL (at most 1 h)."
    )
    health_timeout: int = Field(
        180, ge=10, le=3600,
        description="Seconds a started container may take to be healthy, else the old one stays.",
    )
    docker_policy: DockerPolicy = Field(
        default_factory=DockerPolicy,
        description="What this agent and its builds may also ask Docker, over the host's.",
    )

    @field_validator("ports")
    @classmethod
    def _ports(cls, value):
        for port in value:
            docker_args.publish(port)
            match = docker_args.PORT.match(port)
            safety.port_numbers(port, match["host"], match["container"])
        return value

    _image = field_validator("image")(lambda v: safety.image_reference(v))
    _memory = field_validator("memory")(
        lambda v: v if v is None else safety.memory(v)
    )
    _volumes = field_validator("volumes")(lambda v: [safety.volume(x) for x in v])
    _labels = field_validator("labels")(lambda v: safety.labels(v))
    _environment = field_validator("environment")(lambda v: safety.environment(v))

    @field_validator("healthcheck")
    @classmethod
    def _healthcheck(cls, value):
        docker_args.health_args(value)
        return value

    @model_validator(mode="after")
    def _inbound_secret(self):
        if self.kind == "jenkins-inbound" and not self.env_file:
            raise ValueError("a jenkins-inbound agent needs env_file with its JENKINS_SECRET")
        if "JENKINS_SECRET" in self.environment:
            raise ValueError("JENKINS_SECRET belongs in env_file, never in environment")
        return self

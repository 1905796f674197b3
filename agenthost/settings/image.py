"""An agent image built on the host, and the packages it is pinned to by default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agenthost import safety

# Debian 13's versions (docker-cli is the client alone); bump them together with the base image.
AGENT_IMAGE_PACKAGES = (
    "docker-cli=26.1.5+dfsg1-9+deb13u1+b1",
    "tini=0.19.0-3+b8",
    "ca-certificates=20250419+deb13u1",
    "git=1:2.47.3-0+deb13u1",
)


class AgentImageBuild(BaseModel):
    """An agent image built on the host from agenthost/templates/Dockerfile.agent.j2."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(description="Reference the image gets, e.g. agenthost/agent:1.")
    base: str = Field("debian:trixie-slim", description="FROM image; preload it if no registry.")
    packages: list[str] = Field(
        default_factory=lambda: list(AGENT_IMAGE_PACKAGES),
        description="apt packages, pinned as name=version; a docker CLI and tini are required.",
    )

    _references = field_validator("tag", "base")(lambda v: safety.image_reference(v))
    _packages = field_validator("packages")(lambda v: [safety.deb_package(p) for p in v])

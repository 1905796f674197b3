"""The agent image built on a host: the label that says which Dockerfile built it."""

from __future__ import annotations

import hashlib

DOCKERFILE_LABEL = "agenthost.dockerfile"  # value: sha256 of the Dockerfile an image was built from


def dockerfile_sha256(dockerfile: str) -> str:
    return hashlib.sha256(dockerfile.encode()).hexdigest()

"""Image tarballs on the operator's machine, and the agent image built on a host."""

from __future__ import annotations

import hashlib
import json
import tarfile
from functools import cache

DOCKERFILE_LABEL = "agenthost.dockerfile"  # value: sha256 of the Dockerfile an image was built from


class TarballError(ValueError):
    """A file that `docker load` would not give a named image."""


@cache
def tarball_references(path: str) -> tuple[str, ...]:
    """The image references a `docker save` tarball (plain or compressed) loads."""
    try:
        with tarfile.open(path, "r:*") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.load(member) if member else []
    except (OSError, KeyError, tarfile.TarError, ValueError) as error:
        raise TarballError(f"{path}: not a `docker save` tarball ({error})") from None
    references = tuple(tag for image in manifest for tag in image.get("RepoTags") or ())
    if not references:
        raise TarballError(f"{path}: its images have no name; save them as `docker save NAME:TAG`")
    return references


def dockerfile_sha256(dockerfile: str) -> str:
    return hashlib.sha256(dockerfile.encode()).hexdigest()

import json
import tarfile
from functools import cache
from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import (
    FileUploadCommand,
    OperationError,
    QuoteString,
    StringCommand,
    deploy,
    operation,
)
from pyinfra.facts.server import Users

from agenthost.images import DOCKERFILE_LABEL, dockerfile_sha256
from agenthost.paths import WORK_DIR
from agenthost.settings import AgentImageBuild, Settings
from agenthost.tasks.facts import DockerImage
from agenthost.tasks.ops import not_checked
from agenthost.templating import render


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


@operation()
def image_loaded(tarball: str, references: list[str]):
    """Every image in `tarball` is on the host: uploaded and `docker load`ed if one is absent."""
    missing = [ref for ref in references if not host.get_fact(DockerImage, object_id=ref)]
    if not missing:
        host.noop(f"{', '.join(references)} already loaded")
        return
    remote = f"{WORK_DIR}/images/{Path(tarball).name}"
    yield StringCommand("install", "-d", "-m", "0700", f"{WORK_DIR}/images")
    yield FileUploadCommand(tarball, remote)
    yield StringCommand("docker", "image", "load", "--input", QuoteString(remote))
    yield StringCommand("rm", "-f", QuoteString(remote))
    # A tarball whose manifest lied would otherwise only fail later, at `docker run`.
    yield StringCommand("docker", "image", "inspect", *map(QuoteString, missing), ">/dev/null")


@operation()
def image_built(build: AgentImageBuild, user: str):
    """`build.tag` is built from the current Dockerfile (its hash is a label on the image)."""
    account = host.get_fact(Users).get(user)
    if not account:
        if host.state.is_executing:
            raise OperationError(f"{build.tag} cannot be built: no user {user}")
        yield StringCommand("true", f"# {build.tag} is built once {user} exists")
        return
    dockerfile = render(
        "Dockerfile.agent.j2",
        base=build.base,
        packages=build.packages,
        user=user,
        uid=account["uid"],
        gid=account["gid"],
    )
    digest = dockerfile_sha256(dockerfile)
    image = host.get_fact(DockerImage, object_id=build.tag)
    if image and (image[0]["Config"].get("Labels") or {}).get(DOCKERFILE_LABEL) == digest:
        host.noop(f"{build.tag} is built from the current Dockerfile")
        return
    context = f"{WORK_DIR}/build/{digest}"
    yield StringCommand("install", "-d", "-m", "0700", context)
    yield FileUploadCommand(StringIO(dockerfile), f"{context}/Dockerfile")
    yield StringCommand(
        "docker", "image", "build", "--label", f"{DOCKERFILE_LABEL}={digest}",
        "--tag", QuoteString(build.tag), context,
    )  # fmt: skip
    yield StringCommand("rm", "-rf", context)


@deploy("Docker images")
def docker_images(settings: Settings) -> None:
    """Images for air-gapped hosts: preloaded tarballs, then the agent image if one is built."""
    for tarball in settings.docker_image_preload:
        local = str(Path(tarball).expanduser())
        if not Path(local).is_file():  # drift, on a machine without the tarball
            not_checked(f"images of {Path(local).name} (the tarball is not on this machine)")
            continue
        references = list(tarball_references(local))
        image_loaded(
            name=f"Images {', '.join(references)} are loaded (from {Path(local).name})",
            tarball=local,
            references=references,
        )
    if settings.agent_image_build:
        image_built(
            name=f"Agent image {settings.agent_image_build.tag} is built from the Dockerfile",
            build=settings.agent_image_build,
            user=settings.agent_user,
        )

"""The Docker images stage: images loaded from `docker save` tarballs, pulled (with the
registry logins, never shown), or built on the host from agenthost/templates/Dockerfile.agent.j2,
into the data root dockerd uses after the restart."""

import json
import tarfile
from functools import cache
from pathlib import Path

from pyinfra import host
from pyinfra.api import (
    FileUploadCommand,
    QuoteString,
    StringCommand,
    deploy,
    operation,
)

from agenthost import desired, engine, proxy
from agenthost.hostdata import checking_drift, registry_auth
from agenthost.images import DOCKERFILE_LABEL, dockerfile_sha256
from agenthost.operations.accounts import UserAccount
from agenthost.operations.docker import DockerImage
from agenthost.operations.plan import not_checked, pending
from agenthost.operations.writes import upload
from agenthost.paths import BUILD_CONFIG, BUILD_CONTEXTS, IMAGE_UPLOADS, PULL_CONFIG
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.registry import docker_config, registry_of
from agenthost.settings import AgentImageBuild, Settings
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
    missing = [ref for ref in references if not read(DockerImage, object_id=ref)]
    if not missing:
        host.noop(f"{', '.join(references)} already loaded")
        return
    remote = f"{IMAGE_UPLOADS}/{Path(tarball).name}"
    yield StringCommand("install", "-d", "-m", "0700", IMAGE_UPLOADS)
    yield FileUploadCommand(tarball, remote)
    yield StringCommand("docker", "image", "load", "--input", QuoteString(remote))
    yield StringCommand("rm", "-f", QuoteString(remote))
    # A tarball whose manifest lied would otherwise only fail later, at `docker run`.
    yield StringCommand("docker", "image", "inspect", *map(QuoteString, missing), ">/dev/null")


@operation()
def image_built(build: AgentImageBuild, user: str, proxies: str | None = None):
    """`build.tag` is built from the current Dockerfile (its hash is a label on the image).

    + proxies: a Docker client config.json with the proxies, from which `docker build` gives
      the build's RUN steps HTTP_PROXY and the others (kept out of the image's history);
      uploaded root-only for this build and removed with it, never printed
    """
    account = read(UserAccount, user=user)
    if not account:
        yield pending(f"{build.tag} cannot be built: no user {user}",
                      f"{build.tag} is built once {user} exists")  # fmt: skip
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
    image = read(DockerImage, object_id=build.tag)
    if image and (image[0]["Config"].get("Labels") or {}).get(DOCKERFILE_LABEL) == digest:
        host.noop(f"{build.tag} is built from the current Dockerfile")
        return
    context = f"{BUILD_CONTEXTS}/{digest}"
    yield StringCommand("install", "-d", "-m", "0700", context)
    yield upload(dockerfile, f"{context}/Dockerfile")
    build_command = StringCommand(
        "docker", "image", "build", "--label", f"{DOCKERFILE_LABEL}={digest}",
        "--tag", QuoteString(build.tag), context,
    )  # fmt: skip
    if not proxies:
        yield build_command
        yield StringCommand("rm", "-rf", context)
        return
    # Outside the build context, which goes to dockerd whole.
    yield StringCommand("install", "-d", "-m", "0700", BUILD_CONFIG)
    yield upload(proxies, f"{BUILD_CONFIG}/config.json")
    yield StringCommand(f"DOCKER_CONFIG={BUILD_CONFIG}", build_command, ";", "rc=$?;", "rm",
                        "-rf", context, BUILD_CONFIG, ";", "exit", "$rc")  # fmt: skip


@operation()
def image_pulled(reference: str, config: str | None = None):
    """`reference` is on the host, pulled by dockerd (through its proxy) when absent.

    + config: a Docker client config.json with the registry's login, used for this pull only:
      uploaded into a root-only directory and removed with it, never printed
    """
    if read(DockerImage, object_id=reference):
        host.noop(f"{reference} is on the host")
        return
    pull = StringCommand("docker", "image", "pull", "--quiet", QuoteString(reference))
    if not config:
        yield pull
        return
    yield StringCommand("install", "-d", "-m", "0700", PULL_CONFIG)
    yield upload(config, f"{PULL_CONFIG}/config.json")
    yield StringCommand(f"DOCKER_CONFIG={PULL_CONFIG}", pull, ";", "rc=$?;", "rm", "-rf",
                        PULL_CONFIG, ";", "exit", "$rc")  # fmt: skip


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    """Read after the restart, from the same snapshot if nothing changed before."""
    images = [*settings.docker_image_pull, *(c.image for c in settings.agent_containers)]
    if settings.agent_image_build:
        images.append(settings.agent_image_build.tag)
    return [Read(DockerImage, object_id=image) for image in dict.fromkeys(images)]


@declares(_reads)
@deploy("Docker images")
def docker_images(settings: Settings) -> None:
    """Images: preloaded tarballs (air-gapped hosts), pulls from registries, then the agent image
    if one is built."""
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
    auths = {} if checking_drift() else registry_auth(settings)
    for reference in settings.docker_image_pull:
        registry = registry_of(reference)
        login = auths.get(registry)
        image_pulled(
            name=f"Image {reference} is pulled when absent",
            reference=reference,
            config=docker_config(registry, *login) if login else None,
        )
    if settings.agent_image_build:
        image_built(
            name=f"Agent image {settings.agent_image_build.tag} is built from the Dockerfile",
            build=settings.agent_image_build,
            user=settings.agent_user,
            proxies=proxy.client_config_json(settings) if proxy.variables(settings) else None,
        )

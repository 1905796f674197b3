"""What the docker-ce source configures: Docker's apt repository (or a site's mirror of it) and
its signing key."""

from __future__ import annotations

KEYRING = "/etc/apt/keyrings/docker.asc"
SOURCES = "/etc/apt/sources.list.d/docker.sources"
PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin"]
COMPOSE = "docker-compose-plugin"
# Installed with docker-ce (Recommends); removed with it when the host switches to distro.
RECOMMENDED = ["docker-ce-rootless-extras"]


def repository_url(os_id: str, url: str | None) -> str:
    """Docker's repository for this OS (debian, ubuntu), or the site's mirror of it."""
    return (url or f"https://download.docker.com/linux/{os_id}").rstrip("/")


def key_url(os_id: str, repository: str | None, key: str | None) -> str:
    return key or f"{repository_url(os_id, repository)}/gpg"


def sources(url: str, codename: str, arch: str) -> str:
    """A deb822 source trusting only Docker's key, for this repository only."""
    return (
        "Types: deb\n"
        f"URIs: {url}\n"
        f"Suites: {codename}\n"
        "Components: stable\n"
        f"Architectures: {arch}\n"
        f"Signed-By: {KEYRING}\n"
    )


def version_pattern(version: str) -> str:
    """The apt versions of docker-ce `version` (27.3.1 is 5:27.3.1-1~debian.12~bookworm)."""
    return f"5:{version}-*"

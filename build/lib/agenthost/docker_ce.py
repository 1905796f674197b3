"""What the docker-ce source configures: Docker's apt repository, signed-by keyring, a pin."""

from __future__ import annotations

KEY_URL = "https://download.docker.com/linux/debian/gpg"
KEYRING = "/etc/apt/keyrings/docker.asc"
SOURCES = "/etc/apt/sources.list.d/docker.sources"
PREFERENCES = "/etc/apt/preferences.d/docker-ce"
PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin"]


def sources(codename: str, arch: str) -> str:
    """A deb822 source trusting only Docker's key, for this repository only."""
    return (
        "Types: deb\n"
        "URIs: https://download.docker.com/linux/debian\n"
        f"Suites: {codename}\n"
        "Components: stable\n"
        f"Architectures: {arch}\n"
        f"Signed-By: {KEYRING}\n"
    )


def preferences(version: str | None) -> str | None:
    """An apt pin holding docker-ce and its CLI at `version` (e.g. 27.3.1), or None."""
    if not version:
        return None
    return (
        "Package: docker-ce docker-ce-cli\n"
        f"Pin: version 5:{version}-*\n"
        "Pin-Priority: 1001\n"
    )

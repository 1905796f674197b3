"""Which Docker packages a host must have and which it must not, per source and system: pure.

`distro` is the OS's own docker.io (Debian only); `docker-ce` is Docker's repository (Debian and
Ubuntu). A `docker_version` pins the engine and its client exactly, so apt moves them to that
version, up or down, and nothing else moves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import NamedTuple

from agenthost import docker_ce
from agenthost.settings import Settings

PIN = "/etc/apt/preferences.d/agenthost-docker"
OLD_PIN = "/etc/apt/preferences.d/docker-ce"  # where earlier versions pinned docker-ce
DISTRO_SYSTEMS = {("debian", "12"), ("debian", "13")}
DOCKER_CE_SYSTEMS = {("debian", "12"), ("debian", "13"), ("ubuntu", "22.04"), ("ubuntu", "24.04")}
# What Debian packages besides docker.io: 12 has the client inside docker.io, compose only as the
# Python v1 `docker-compose` and no buildx; 13 splits out docker-cli and has compose v2 and buildx.
DISTRO_CLI = {"13": "docker-cli"}
DISTRO_COMPOSE = {"12": "docker-compose", "13": "docker-compose"}
DISTRO_BUILDX = {"13": "docker-buildx"}
DISTRO_ALL = ["docker.io", "docker-cli", "docker-compose", "docker-buildx"]
DOCKER_CE_ALL = [*docker_ce.PACKAGES, docker_ce.COMPOSE, *docker_ce.RECOMMENDED]


def installed_engine(installed: dict[str, list[str]]) -> tuple[str, str] | None:
    """(source, version) of the engine dpkg has, from PackageVersions; None without one."""
    for source, package in (("docker-ce", "docker-ce"), ("distro", "docker.io")):
        if installed.get(package):
            return source, max(installed[package])
    return None


class System(NamedTuple):
    """The host's OS, from /etc/os-release."""

    id: str
    version: str
    codename: str

    @classmethod
    def from_os_release(cls, meta: dict[str, str]) -> System:
        """From /etc/os-release's fields, keys in lower case (as pyinfra's OsRelease fact)."""
        return cls(meta.get("id", ""), meta.get("version_id", ""), meta.get("version_codename", ""))


class Engine(NamedTuple):
    packages: dict[str, str | None]  # name -> version (a glob) it must have, or None for any
    absent: list[str]  # the other source's packages, and build tools not asked for
    pin: str | None  # apt preferences holding the versioned packages there


def refusal(system: System, source: str) -> str | None:
    """Why agenthost does not deploy `source` on `system`, or None when it does."""
    supported = DISTRO_SYSTEMS if source == "distro" else DOCKER_CE_SYSTEMS
    if (system.id, system.version) in supported:
        return None
    names = ", ".join(f"{os_id} {version}" for os_id, version in sorted(supported))
    return (
        f"{system.id or 'unknown'} {system.version or '?'} is not supported with "
        f"docker_source={source} (supported: {names})"
    )


def engine(settings: Settings, system: System) -> Engine:
    if settings.docker_source == "docker-ce":
        held = ["docker-ce", "docker-ce-cli"]
        version = (
            docker_ce.version_pattern(settings.docker_version) if settings.docker_version else None
        )
        tools = [(settings.docker_compose, docker_ce.COMPOSE),
                 (settings.docker_buildx, "docker-buildx-plugin")]  # fmt: skip
        base = ["containerd.io"]
        others = DISTRO_ALL
    else:
        held = [
            "docker.io",
            *([DISTRO_CLI[system.version]] if system.version in DISTRO_CLI else []),
        ]
        version = settings.docker_version
        tools = [(settings.docker_compose, DISTRO_COMPOSE.get(system.version)),
                 (settings.docker_buildx, DISTRO_BUILDX.get(system.version))]  # fmt: skip
        base = []
        others = DOCKER_CE_ALL
    packages = {**dict.fromkeys(held, version), **dict.fromkeys(base)}
    packages.update(dict.fromkeys(name for wanted, name in tools if wanted and name))
    absent = [name for name in [*others, *(name for _, name in tools if name)]
              if name not in packages]  # fmt: skip
    return Engine(packages, absent, apt_pin(dict.fromkeys(held, version)))


def apt_pin(packages: dict[str, str | None]) -> str | None:
    """apt preferences holding each versioned package at its version (a glob), or None."""
    by_version: dict[str, list[str]] = {}
    for name, version in packages.items():
        if version:
            by_version.setdefault(version, []).append(name)
    stanzas = [f"Package: {' '.join(names)}\nPin: version {version}\nPin-Priority: 1001\n"
               for version, names in by_version.items()]  # fmt: skip
    return "\n".join(stanzas) or None


def satisfied(installed: Iterable[str], version: str | None) -> bool:
    """Whether a package installed at `installed` versions (dpkg's list) has `version`."""
    installed = list(installed)
    return bool(installed) and (version is None or any(fnmatchcase(v, version) for v in installed))

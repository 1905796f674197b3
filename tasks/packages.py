"""Debian packages installed without touching apt when they already are: package lists are
updated only when something must be installed (a day-old list is no change), and dpkg's lock,
which unattended-upgrades may hold on a fresh host, is waited for with a bound."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.facts.deb import DebPackages

APT_GET = (
    "DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300"
    " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
)


@operation()
def packages_installed(packages: list[str]):
    """Every package of `packages` (name or name=version) is installed.

    Args:
        packages: Debian package names, optionally pinned as name=version.
    """
    installed = host.get_fact(DebPackages)
    missing = [
        package
        for package in packages
        if (name_version := package.split("=", 1))[0] not in installed
        or (len(name_version) == 2 and name_version[1] not in installed[name_version[0]])
    ]
    if not missing:
        host.noop(f"{', '.join(packages)} installed")
        return
    yield f"{APT_GET} update"
    yield StringCommand(APT_GET, "install", "-y", *map(QuoteString, missing))

"""apt packages at the versions asked for: the one install step of the engine and of agent
packages. Package lists are updated only when something must be installed."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from pyinfra import host
from pyinfra.api import StringCommand, operation

from agenthost import explain
from agenthost.engine import satisfied
from agenthost.reads.snapshot import read
from agenthost.tasks.facts import PackageVersions
from agenthost.tasks.ops import observe_packages

APT = (
    "DEBIAN_FRONTEND=noninteractive apt-get -y -q --allow-downgrades -o DPkg::Lock::Timeout=300"
    " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
)
# While dpkg swaps the engine, its maintainer scripts must not restart it: the deploy restarts it
# once, health-checked, after every file dockerd reads is written. Other services restart as usual.
POLICY = "/usr/sbin/policy-rc.d"
HOLD_DOCKER = (
    f"[ -e {POLICY} ] || {{ printf '%s\\n' '#!/bin/sh' 'case \"$1\" in docker*) exit 101;; esac'"
    f" > {POLICY} && chmod 755 {POLICY} && trap 'rm -f {POLICY}' EXIT; }}"
)


@operation()
def packages_installed(packages: dict[str, str | None], absent: list[str] | None = None,
                       hold_docker: bool = False, on_failure: str | None = None):  # fmt: skip
    """Each of `packages` is installed at its version (exact, or a glob that an apt pin written
    before reaches), none of `absent` is; lists are updated only when something must be installed.

    + packages: name -> version glob, or None for any version
    + absent: packages that must not be installed (removed in the same transaction)
    + hold_docker: keep dpkg from restarting docker (the deploy restarts it once, checked)
    + on_failure: shell run when the install fails (before the host fails), e.g. taking a pin back
    """
    installed = read(PackageVersions, names=package_names(packages, absent))
    observe_packages(installed)
    missing = [name for name, v in packages.items() if not satisfied(installed.get(name, []), v)]
    remove = [name for name in absent or [] if name in installed]
    if not missing and not remove:
        host.noop(f"{', '.join(packages)} installed as asked")
        return
    for name in [*missing, *remove]:
        explain.record(explain.package(name, packages.get(name, explain.ABSENT),
                                       installed.get(name, [])))  # fmt: skip
    prefix = f"{HOLD_DOCKER}; " if hold_docker else ""
    if not missing:
        yield f"{prefix}{APT} remove {shlex.join(remove)}"
        return
    # An exact version is named (apt moves to it either way); a glob is reached through its pin.
    exact = [f"{n}={packages[n]}" if packages[n] and "*" not in packages[n] else n for n in missing]
    names = [*map(shlex.quote, exact), *(f"{shlex.quote(n)}-" for n in remove)]
    yield f"{APT} update"
    undo = f" || {{ {on_failure}; exit 1; }}" if on_failure else ""
    yield f"{prefix}{APT} install {' '.join(names)}{undo}"
    for name in missing:
        if packages[name]:  # a pin that matches nothing leaves apt's choice: say so
            yield StringCommand(_check_version(name, packages[name]))


@operation()
def versions_available(packages: dict[str, str | None], absent: list[str], setting: str,
                       value: str):  # fmt: skip
    """Each package of `packages` that is not at its version yet can be installed at it from
    apt's sources (lists updated first); else the deploy stops here, naming `setting` and
    `value`, before a pin to a version apt does not have is written or anything is installed.

    + packages, absent: as `packages_installed` takes them (it reads the same dpkg list)
    + setting, value: the setting that asked for these versions, for the message
    """
    installed = read(PackageVersions, names=package_names(packages, absent))
    moving = {n: v for n, v in packages.items() if v and not satisfied(installed.get(n, []), v)}
    if not moving:
        host.noop(f"{setting} {value} is installed")
        return
    yield f"{APT} update"
    for name, version in moving.items():
        yield StringCommand(_available(name, version, setting, value))


def _available(name: str, version: str, setting: str, value: str) -> str:
    """Shell that succeeds when apt's sources have `name` at `version` (a glob), else says so."""
    return (
        f"versions=$(apt-cache madison {name} | cut -d'|' -f2 | tr -d ' ');"
        f' for v in $versions; do case "$v" in {version}) exit 0;; esac; done;'
        f" echo \"agenthost: {setting} = '{value}': apt has no {name} {version}"
        ' (its sources have: $(echo ${versions:-none} | sed "s/ /, /g")); nothing was pinned or'
        ' installed" >&2; exit 1'
    )


def package_names(packages: Iterable[str], absent: Iterable[str] | None = None) -> tuple[str, ...]:
    """The packages whose versions `packages_installed` reads (and only those), sorted."""
    return tuple(sorted({*packages, *(absent or [])}))


def _check_version(name: str, version: str) -> str:
    return (
        f"v=$(dpkg-query -W -f '${{Version}}' {name}); case \"$v\" in {version}) ;; *) "
        f'echo "agenthost: {name} is $v, not {version}: is {version} in the apt sources?" >&2;'
        " exit 1;; esac"
    )


def reinstall_previous(packages: dict[str, str | None], installed: dict) -> str | None:
    """The command that puts back the versions `packages_installed` would change (from dpkg's
    list before the run), for a rollback; None when it changes no installed package."""
    previous = {name: min(installed[name]) for name, version in packages.items()
                if installed.get(name) and not satisfied(installed[name], version)}  # fmt: skip
    if not previous:
        return None
    names = " ".join(shlex.quote(f"{name}={version}") for name, version in previous.items())
    return f"( {HOLD_DOCKER}; {APT} install {names} )"

"""apt packages at the versions asked for: the one install step of the engine and of agent
packages. Package lists are updated only when something must be installed.

apt at boot meets apt-daily and unattended-upgrades: every apt command first waits, a bounded
time (docker_apt_lock_timeout), for apt's and dpkg's locks, naming the process that holds them,
and repairs a dpkg that was interrupted (`dpkg --configure -a`), which would stop every apt
command until a person ran it."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from pyinfra import host
from pyinfra.api import FactBase, StringCommand, operation
from pyinfra.facts.files import FileContents

from agenthost import explain
from agenthost.engine import satisfied
from agenthost.operations.plan import ShownCommand, observe_packages
from agenthost.reads.snapshot import read
from agenthost.templating import render


def _dpkg_query(names: tuple[str, ...]) -> str:
    return (
        f"dpkg-query -W -f '${{db:Status-Abbrev}} ${{Package}} ${{Version}}\\n' {shlex.join(names)}"
        " 2>/dev/null || true"
    )


class PackageStatuses(FactBase):
    """What `PackageVersions` prints for each of the name lists `values`, by one `dpkg-query`
    of them all (reads.snapshot batches reads with it), which reads dpkg's database once:

        {("acl",): ["ii  acl 2.3.1-3"], ("docker.io", "runc"): [...]}
    """

    default = dict

    def command(self, values: tuple[tuple[str, ...], ...]) -> str:
        self.lists = values
        return _dpkg_query(tuple(sorted({name for names in values for name in names})))

    def process(self, output: list[str]) -> dict[tuple[str, ...], list[str]]:
        by_package: dict[str, list[str]] = {}
        for line in output:
            if len(fields := line.split()) > 1:
                by_package.setdefault(fields[1], []).append(line)
        return {names: [line for name in names for line in by_package.get(name, [])]
                for names in self.lists}  # fmt: skip


class PackageVersions(FactBase):
    """The installed versions of the packages `names` (a tuple), as `DebPackages` has them,
    without the packages that are not installed:

        {"docker.io": ["26.1.5+dfsg1-9+b11"]}

    `dpkg-query` of these packages only, instead of `dpkg -l` of every package.
    """

    default = dict
    batch = PackageStatuses

    def requires_command(self, names: tuple[str, ...]) -> str:
        return "dpkg-query"

    def command(self, names: tuple[str, ...]) -> str:
        return _dpkg_query(names)

    def process(self, output: list[str]) -> dict[str, list[str]]:
        installed: dict[str, list[str]] = {}
        for status, name, *version in (line.split() for line in output):
            if status in ("ii", "hi") and version:  # installed (held or not), as `dpkg -l` has it
                installed.setdefault(name, []).append(version[0])
        return installed


# While dpkg swaps the engine, its maintainer scripts must not restart it: the deploy restarts it
# once, health-checked, after every file dockerd reads is written. Other services restart as usual.
# Removed when the shell ends, also by a signal (a dropped connection: SIGHUP, or SIGPIPE at the
# next write); a leftover (the shell killed outright) goes at the next run (no_temporary_policy).
POLICY = "/usr/sbin/policy-rc.d"


POLICY_LINES = ["#!/bin/sh", "# agenthost: temporary, while it installs Docker",
                'case "$1" in docker*) exit 101;; esac']  # fmt: skip


HOLD_DOCKER = (
    f"[ -e {POLICY} ] || {{ printf '%s\\n' {shlex.join(POLICY_LINES)} > {POLICY}"
    f" && chmod 755 {POLICY} && trap 'rm -f {POLICY}' EXIT"
    f" && trap 'rm -f {POLICY}; exit 129' HUP INT TERM PIPE; }}"
)


DPKG_UPDATES = "/var/lib/dpkg/updates"  # not empty: dpkg was interrupted


LOCKS = ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock",
         "/var/cache/apt/archives/lock")  # fmt: skip


def apt_ready(timeout: int, locks: tuple[str, ...] = LOCKS, updates: str = DPKG_UPDATES) -> str:
    """Shell that waits up to `timeout` s for apt's and dpkg's `locks`, saying every 15 s which
    process holds them, then repairs an interrupted dpkg: fails if either fails."""
    return render("apt-ready.sh.j2", locks=locks, timeout=timeout, updates=updates) + "apt_ready"


def apt(timeout: int) -> str:
    """Shell that runs the apt-get command that follows once `apt_ready` (apt 2.6's
    DPkg::Lock::Timeout covers dpkg's lock, not the lists lock `apt-get update` takes); apt-get
    then waits as long for dpkg's lock should another apt take it meanwhile."""
    return (
        f"{apt_ready(timeout)} && DEBIAN_FRONTEND=noninteractive apt-get -y -q --allow-downgrades"
        f" -o DPkg::Lock::Timeout={timeout}"
        " -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
    )


@operation()
def no_temporary_policy():
    """No policy-rc.d of agenthost's is left over from a run killed while it installed Docker
    (after which Docker's maintainer scripts would never restart Docker). Read under the run
    lock: no other agenthost run is installing meanwhile."""
    lines = read(FileContents, path=POLICY)
    ours = [POLICY_LINES[0], POLICY_LINES[2]]  # an earlier agenthost's had no comment
    if not lines or [line for line in lines if not line.startswith("# agenthost")] != ours:
        host.noop(f"no temporary {POLICY} of agenthost's")
        return
    explain.record(explain.Difference(POLICY, explain.ABSENT, "left by an interrupted install"))
    yield StringCommand("rm", "-f", POLICY)


@operation()
def packages_installed(packages: dict[str, str | None], lock_timeout: int,
                       absent: list[str] | None = None, hold_docker: bool = False,
                       on_failure: str | None = None):  # fmt: skip
    """Each of `packages` is installed at its version (exact, or a glob that an apt pin written
    before reaches), none of `absent` is; lists are updated only when something must be installed.

    + packages: name -> version glob, or None for any version
    + lock_timeout: seconds to wait for apt's locks (docker_apt_lock_timeout)
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
    prefix, apt_get = f"{HOLD_DOCKER}; " if hold_docker else "", apt(lock_timeout)
    yield ShownCommand(apt_ready(lock_timeout))  # says whom it waits for, as it waits
    if not missing:
        yield f"{prefix}{apt_get} remove {shlex.join(remove)}"
        return
    # An exact version is named (apt moves to it either way); a glob is reached through its pin.
    exact = [f"{n}={packages[n]}" if packages[n] and "*" not in packages[n] else n for n in missing]
    names = [*map(shlex.quote, exact), *(f"{shlex.quote(n)}-" for n in remove)]
    yield f"{apt_get} update"
    undo = f" || {{ {on_failure}; exit 1; }}" if on_failure else ""
    yield f"{prefix}{apt_get} install {' '.join(names)}{undo}"
    for name in missing:
        if packages[name]:  # a pin that matches nothing leaves apt's choice: say so
            yield StringCommand(_check_version(name, packages[name]))


@operation()
def versions_available(packages: dict[str, str | None], absent: list[str], setting: str,
                       value: str, lock_timeout: int):  # fmt: skip
    """Each package of `packages` that is not at its version yet can be installed at it from
    apt's sources (lists updated first); else the deploy stops here, naming `setting` and
    `value`, before a pin to a version apt does not have is written or anything is installed.

    + packages, absent: as `packages_installed` takes them (it reads the same dpkg list)
    + setting, value: the setting that asked for these versions, for the message
    + lock_timeout: seconds to wait for apt's locks (docker_apt_lock_timeout)
    """
    installed = read(PackageVersions, names=package_names(packages, absent))
    moving = {n: v for n, v in packages.items() if v and not satisfied(installed.get(n, []), v)}
    if not moving:
        host.noop(f"{setting} {value} is installed")
        return
    yield ShownCommand(apt_ready(lock_timeout))
    yield f"{apt(lock_timeout)} update"
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


def reinstall_previous(packages: dict[str, str | None], installed: dict,
                       lock_timeout: int) -> str | None:  # fmt: skip
    """The command that puts back the versions `packages_installed` would change (from dpkg's
    list before the run), for a rollback; None when it changes no installed package."""
    previous = {name: min(installed[name]) for name, version in packages.items()
                if installed.get(name) and not satisfied(installed[name], version)}  # fmt: skip
    if not previous:
        return None
    names = " ".join(shlex.quote(f"{name}={version}") for name, version in previous.items())
    return f"( {HOLD_DOCKER}; {apt(lock_timeout)} install {names} )"

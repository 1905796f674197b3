"""The Docker engine from one source (Debian's docker.io or Docker's docker-ce) at the version
asked, held there by an apt pin; a version apt cannot install leaves no pin of its own behind."""

import shlex

from pyinfra import host
from pyinfra.api import OperationError, deploy
from pyinfra.facts.deb import DebArch
from pyinfra.facts.files import FileContents
from pyinfra.facts.server import OsRelease
from pyinfra.operations import files

from agenthost import desired, docker_ce, engine
from agenthost.operations.apt import (
    POLICY,
    PackageVersions,
    no_temporary_policy,
    package_names,
    packages_installed,
    reinstall_previous,
    versions_available,
)
from agenthost.operations.backups import backup_path, restore_command
from agenthost.operations.files import (
    File,
    ManagedFileState,
    desired_file,
    desired_file_read,
    managed_file,
    managed_file_absent,
)
from agenthost.operations.plan import Managed
from agenthost.operations.systemd import UnitState, unit_enabled
from agenthost.operations.writes import copied
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import Settings


def host_system() -> engine.System:
    return engine.System.from_os_release(read(OsRelease))


def system_supported(settings: Settings) -> None:
    """Refuse, before any change, a system agenthost does not deploy this source on."""
    refusal = engine.refusal(host_system(), settings.docker_source)
    if refusal:
        raise OperationError(f"{host.name}: {refusal}")


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    wanted = engine.engine(settings, system)
    names = package_names(wanted.packages, wanted.absent)
    return [
        desired_file_read(desired.apt_proxy(settings)),
        desired_file_read(desired.apt_no_proxy(settings)),
        desired_file_read(desired.engine_pin(settings, system)),
        Read(File, path=engine.OLD_PIN),
        *_repository_reads(settings),
        *([Read(PackageVersions, names=names)] if names else []),
        Read(UnitState, unit="docker.service"),
        Read(FileContents, path=POLICY),  # a temporary one left by an interrupted install
    ]


def _repository_reads(settings: Settings) -> list[Read]:
    if settings.docker_source == "docker-ce":
        return [Read(ManagedFileState, path=docker_ce.SOURCES), Read(DebArch)]
    return [Read(File, path=docker_ce.SOURCES), Read(File, path=docker_ce.KEYRING)]


@declares(_reads)
@deploy("Docker engine")
def docker_engine(settings: Settings) -> list[Managed]:
    """The engine from one source at the asked version, held there; the other source's
    packages, repository, key and pin gone (images stay in /var/lib/docker). Returns the
    package change, which the deploy's single checked restart applies (or undoes)."""
    system = host_system()
    wanted = engine.engine(settings, system)
    _apt_proxy(settings)
    _docker_ce_repository(settings, system)
    if settings.docker_version:  # a version apt does not have stops the deploy before its pin
        versions_available(
            name=f"apt has Docker {settings.docker_version}", packages=wanted.packages,
            absent=wanted.absent, setting="docker_version", value=settings.docker_version,
            lock_timeout=settings.docker_apt_lock_timeout,
        )  # fmt: skip
    pin = desired.engine_pin(settings, system)
    desired_file(
        pin, f"Docker is held at {settings.docker_version}" if pin.content
        else "Docker is not held at a version",
    )  # fmt: skip
    managed_file_absent(name="No pin of an earlier agenthost", path=engine.OLD_PIN)
    no_temporary_policy(name="No temporary policy-rc.d is left from an interrupted install")
    # The package step updates apt's lists itself, and only when it has something to install.
    installed = packages_installed(
        name="Docker packages are installed as asked",
        packages=wanted.packages,
        lock_timeout=settings.docker_apt_lock_timeout,
        absent=wanted.absent,
        hold_docker=True,
        on_failure=pin_taken_back(settings.docker_version),
    )
    # Started by the restart stage, after every file it reads is written: a daemon.json that
    # keeps it from starting is then already the good one.
    unit_enabled(name="Docker engine is enabled", unit="docker.service")
    # Should dockerd not come back healthy, the engine goes back to the versions it had.
    names = package_names(wanted.packages, wanted.absent)
    reinstall = reinstall_previous(wanted.packages, read(PackageVersions, names=names),
                                   settings.docker_apt_lock_timeout)  # fmt: skip
    undo = reinstall and f"{reinstall}; {restore_command(engine.PIN)}"
    return [Managed(installed, undo=undo)]


def _apt_proxy(settings: Settings) -> None:
    """apt's proxy drop-in and the bypass program it names: that program exists whenever the
    drop-in names it (apt fails on a missing one)."""
    conf, bypass = desired.apt_proxy(settings), desired.apt_no_proxy(settings)
    steps = [
        (conf, "apt uses the proxy" if conf.content else "apt has no proxy of ours"),
        (bypass, "apt bypasses the proxy for docker_no_proxy" if bypass.content
         else "apt has no proxy bypass of ours"),  # fmt: skip
    ]
    for file, name in steps[::-1] if bypass.content else steps:
        desired_file(file, name)


def pin_taken_back(version: str | None) -> str | None:
    """Shell that puts the pin back as it was before this run, should apt fail to install the
    engine it holds (the version is in apt's sources, yet its dependencies may not be). Only a
    pin this run wrote (it left a backup or an `.absent` marker) is touched."""
    if not version:
        return None
    saved, pin = shlex.quote(backup_path(engine.PIN)), shlex.quote(engine.PIN)
    return (
        f"if [ -e {saved} ]; then {copied(backup_path(engine.PIN), engine.PIN)};"
        f" elif [ -e {saved}.absent ]; then"
        f" rm -f {pin}; fi; echo \"agenthost: docker_version = '{version}': apt could not"
        ' install it; the pin is as it was before this run" >&2'
    )


def _docker_ce_repository(settings: Settings, system: engine.System) -> None:
    """Docker's repository and key on docker-ce; neither on distro."""
    if settings.docker_source != "docker-ce":
        managed_file_absent(name="No Docker apt repository", path=docker_ce.SOURCES)
        managed_file_absent(name="No Docker apt key", path=docker_ce.KEYRING)
        return
    url = docker_ce.repository_url(system.id, settings.docker_ce_repository_url)
    files.download(
        name="Docker's apt signing key is in its keyring",
        src=docker_ce.key_url(
            system.id, settings.docker_ce_repository_url, settings.docker_ce_key_url
        ),
        dest=docker_ce.KEYRING,
        mode="644",
    )
    managed_file(
        name=f"Docker's apt repository is {url}",
        path=docker_ce.SOURCES,
        content=docker_ce.sources(url, system.codename, read(DebArch)),
    )

from pyinfra import host
from pyinfra.api import OperationError, deploy
from pyinfra.facts.deb import DebArch
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from agenthost import desired, docker_ce, engine
from agenthost.settings import Settings
from agenthost.tasks.ops import Managed, desired_file, managed_file, managed_file_absent
from agenthost.tasks.packages import packages_installed


def host_system() -> engine.System:
    return engine.System.from_os_release(host.get_fact(LinuxDistribution)["release_meta"])


def system_supported(settings: Settings) -> None:
    """Refuse, before any change, a system agenthost does not deploy this source on."""
    refusal = engine.refusal(host_system(), settings.docker_source)
    if refusal:
        raise OperationError(f"{host.name}: {refusal}")


@deploy("Docker engine")
def docker_engine(settings: Settings) -> list[Managed]:
    """The engine from one source at the asked version, held there; the other source's
    packages, repository, key and pin gone (images stay in /var/lib/docker). Returns the
    package change, which the deploy's single checked restart applies."""
    system = host_system()
    wanted = engine.engine(settings, system)
    apt_proxy = desired.apt_proxy(settings)
    desired_file(
        apt_proxy, "apt uses the proxy" if apt_proxy.content else "apt has no proxy of ours"
    )
    repository = _docker_ce_repository(settings, system)
    pin = (
        managed_file(
            name=f"Docker is held at {settings.docker_version}", path=engine.PIN, content=wanted.pin
        )  # fmt: skip
        if wanted.pin
        else managed_file_absent(name="Docker is not held at a version", path=engine.PIN)
    )
    old_pin = managed_file_absent(name="No pin of an earlier agenthost", path=engine.OLD_PIN)
    apt.update(
        name="apt lists follow the Docker sources", _if=any_changed(*repository, pin, old_pin)
    )
    installed = packages_installed(
        name="Docker packages are installed as asked",
        packages=wanted.packages,
        absent=wanted.absent,
        hold_docker=True,
    )
    systemd.service(
        name="Docker engine is enabled and running",
        service="docker.service",
        running=True,
        enabled=True,
    )
    return [Managed(installed, None)]


def _docker_ce_repository(settings: Settings, system: engine.System) -> list:
    """Docker's repository and key on docker-ce; neither on distro."""
    if settings.docker_source != "docker-ce":
        return [
            managed_file_absent(name="No Docker apt repository", path=docker_ce.SOURCES),
            managed_file_absent(name="No Docker apt key", path=docker_ce.KEYRING),
        ]
    url = docker_ce.repository_url(system.id, settings.docker_ce_repository_url)
    key = files.download(
        name="Docker's apt signing key is in its keyring",
        src=docker_ce.key_url(
            system.id, settings.docker_ce_repository_url, settings.docker_ce_key_url
        ),
        dest=docker_ce.KEYRING,
        mode="644",
    )
    source = managed_file(
        name=f"Docker's apt repository is {url}",
        path=docker_ce.SOURCES,
        content=docker_ce.sources(url, system.codename, host.get_fact(DebArch)),
    )
    return [key, source]

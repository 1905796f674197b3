from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.deb import DebArch
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import apt, files, systemd
from pyinfra.operations.util import any_changed

from agenthost import desired, docker_ce
from agenthost.settings import Settings
from agenthost.tasks.ops import managed_file, managed_file_absent
from agenthost.tasks.packages import packages_installed


@deploy("Docker engine")
def docker_engine(settings: Settings) -> None:
    if settings.docker_source == "docker-ce":
        _docker_ce_repository(settings)
    packages = desired.engine_packages(settings)
    packages_installed(
        name=f"Docker engine is installed ({', '.join(packages)})",
        packages=packages,
    )
    systemd.service(
        name="Docker engine is enabled and running",
        service="docker.service",
        running=True,
        enabled=True,
    )


def _docker_ce_repository(settings: Settings) -> None:
    codename = host.get_fact(LinuxDistribution)["release_meta"].get("VERSION_CODENAME", "")
    key = files.download(
        name="Docker's apt signing key is in its keyring",
        src=docker_ce.KEY_URL,
        dest=docker_ce.KEYRING,
        mode="644",
    )
    source = managed_file(
        name="Docker's apt repository is configured",
        path=docker_ce.SOURCES,
        content=docker_ce.sources(codename, host.get_fact(DebArch)),
    )
    pin = docker_ce.preferences(settings.docker_version)
    if pin:
        pinned = managed_file(
            name=f"docker-ce is pinned to {settings.docker_version}",
            path=docker_ce.PREFERENCES,
            content=pin,
        )
    else:
        pinned = managed_file_absent(name="docker-ce is not pinned", path=docker_ce.PREFERENCES)
    apt.update(name="apt lists include Docker's repository", _if=any_changed(key, source, pinned))

from pyinfra.api import deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from agenthost.prune import prune_commands
from agenthost.settings import Settings
from agenthost.templating import render
from tasks.ops import managed_file

UNIT = "agenthost-docker-prune"


@deploy("Docker clean-up")
def docker_prune(settings: Settings) -> None:
    until, schedule = settings.docker_prune_until, settings.docker_prune_schedule
    service = managed_file(
        name=f"{UNIT}.service removes leftovers older than {until}",
        path=f"/etc/systemd/system/{UNIT}.service",
        content=render(f"{UNIT}.service.j2", until=until, commands=prune_commands(until)),
    )
    timer = managed_file(
        name=f"{UNIT}.timer runs it {schedule}",
        path=f"/etc/systemd/system/{UNIT}.timer",
        content=render(f"{UNIT}.timer.j2", schedule=schedule),
    )
    systemd.daemon_reload(name="systemd knows the clean-up units", _if=any_changed(service, timer))
    systemd.service(
        name="Clean-up timer is enabled and active",
        service=f"{UNIT}.timer",
        running=True,
        enabled=True,
    )
    systemd.service(
        name="Clean-up timer follows the new schedule",
        service=f"{UNIT}.timer",
        restarted=True,
        _if=timer.did_change,
    )

from pyinfra.api import deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from agenthost.paths import PRUNE_UNIT as UNIT
from agenthost.prune import unit_files
from agenthost.settings import Settings
from agenthost.tasks.ops import managed_file


@deploy("Docker clean-up")
def docker_prune(settings: Settings) -> None:
    until, schedule = settings.docker_prune_until, settings.docker_prune_schedule
    (service_path, service_unit), (timer_path, timer_unit) = unit_files(until, schedule).items()
    service = managed_file(
        name=f"{UNIT}.service removes leftovers older than {until}",
        path=service_path,
        content=service_unit,
    )
    timer = managed_file(
        name=f"{UNIT}.timer runs it {schedule}", path=timer_path, content=timer_unit
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

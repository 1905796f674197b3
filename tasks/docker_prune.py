from pyinfra.api import deploy
from pyinfra.operations import systemd
from pyinfra.operations.util import any_changed

from agenthost import desired
from agenthost.paths import PRUNE_UNIT as UNIT
from agenthost.settings import Settings
from agenthost.tasks.basics import unit_restarted, unit_running
from agenthost.tasks.ops import desired_file


@deploy("Docker clean-up")
def docker_prune(settings: Settings) -> None:
    until, schedule = settings.docker_prune_until, settings.docker_prune_schedule
    service_file, timer_file = desired.prune_units(settings)
    service = desired_file(service_file, f"{UNIT}.service removes leftovers older than {until}")
    timer = desired_file(timer_file, f"{UNIT}.timer runs it {schedule}")
    systemd.daemon_reload(name="systemd knows the clean-up units", _if=any_changed(service, timer))
    unit_running(name="Clean-up timer is enabled and active", unit=f"{UNIT}.timer")
    unit_restarted(
        name="Clean-up timer follows the new schedule", unit=f"{UNIT}.timer", _if=timer.did_change
    )

"""The clean-up timer (agenthost.prune): its units, each operation with its daemon-reload and,
for the timer, its restart, so a host that has them plans no change; then the timer enabled."""

from pyinfra.api import deploy

from agenthost import desired, engine
from agenthost.operations.files import desired_file_read, files_applied
from agenthost.operations.systemd import UnitState, unit_running
from agenthost.paths import PRUNE_UNIT as UNIT
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read
from agenthost.settings import Settings


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    return [*(desired_file_read(file) for file in desired.prune_units(settings)),
            Read(UnitState, unit=f"{UNIT}.timer")]  # fmt: skip


@declares(_reads)
@deploy("Docker clean-up")
def docker_prune(settings: Settings) -> None:
    until, schedule = settings.docker_prune_until, settings.docker_prune_schedule
    service_file, timer_file = desired.prune_units(settings)
    files_applied(name=f"{UNIT}.service removes leftovers older than {until}",
                  files=[service_file], then=["systemctl daemon-reload"])  # fmt: skip
    # An active timer restarted follows its new schedule; an inactive one starts below with it.
    files_applied(
        name=f"{UNIT}.timer runs it {schedule}",
        files=[timer_file],
        then=["systemctl daemon-reload", f"systemctl try-restart {UNIT}.timer"],
    )
    unit_running(name="Clean-up timer is enabled and active", unit=f"{UNIT}.timer")

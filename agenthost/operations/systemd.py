"""Units, as pyinfra's systemd.service ensures them, with their state read for many units in
one command (reads.snapshot batches UnitState into UnitStates)."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, operation
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from agenthost import explain
from agenthost.reads.snapshot import read

_UNIT_KEYS = f"--property {SystemdStatus.state_key} --property {SystemdEnabled.state_key}"


class UnitStates(FactBase):
    """What `UnitState` prints for each of the units `values`, from one `systemctl show`
    (reads.snapshot batches reads with it): {"docker.service": ["SubState=running", ...]}"""

    default = dict

    def command(self, values: tuple[str, ...]) -> str:
        self.units = values  # systemctl shows them in this order
        return f"systemctl show {_UNIT_KEYS} {shlex.join(values)}"

    def process(self, output: list[str]) -> dict[str, list[str]]:
        blocks: list[dict[str, str]] = []
        for line in filter(None, output):  # a blank line between units
            key = line.split("=", 1)[0]
            if not blocks or key in blocks[-1]:
                blocks.append({})
            blocks[-1][key] = line
        return {unit: list(block.values())
                for unit, block in zip(self.units, blocks, strict=True)}  # fmt: skip


class UnitState(FactBase):
    """Whether the systemd unit `unit` is active and enabled, as `SystemdStatus` and
    `SystemdEnabled` judge them, from one `systemctl show`:

        {"active": True, "enabled": True}
    """

    batch = UnitStates

    def requires_command(self, unit: str) -> str:
        return "systemctl"

    def command(self, unit: str) -> str:
        return f"systemctl show {_UNIT_KEYS} {shlex.quote(unit)}"

    def process(self, output: list[str]) -> dict[str, bool]:
        values = dict(line.split("=", 1) for line in output if "=" in line)
        return {
            "active": values.get(SystemdStatus.state_key) in SystemdStatus.state_values,
            "enabled": values.get(SystemdEnabled.state_key) in SystemdEnabled.state_values,
        }


@operation()
def unit_running(unit: str):
    """The systemd unit `unit` is enabled and active (started and enabled if not)."""
    active, enabled = read(UnitState, unit=unit).values()
    if active and enabled:
        host.noop(f"{unit} is enabled and active")
        return
    explain.record(explain.unit(unit, active, enabled))
    if not active:
        yield StringCommand("systemctl", "start", QuoteString(unit))
    if not enabled:
        yield StringCommand("systemctl", "enable", QuoteString(unit))


@operation()
def unit_enabled(unit: str):
    """The systemd unit `unit` is enabled (started at boot); whether it runs now is another
    operation's concern (dockerd's: tasks.docker_daemon.docker_applied starts it once its
    configuration is written)."""
    if read(UnitState, unit=unit)["enabled"]:
        host.noop(f"{unit} is enabled")
        return
    explain.record(explain.Difference(unit, "enabled", "not enabled"))
    yield StringCommand("systemctl", "enable", QuoteString(unit))

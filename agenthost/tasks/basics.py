"""Directories, groups, accounts and units, as pyinfra's files.directory, server.group,
server.user and systemd.service ensure them, but reading the host's snapshot (reads.snapshot):
the built-ins read `Users`, `Groups` and `Os` with a command each, every time. Each operation
yields every command of its change (a unit file's daemon-reload too), so a host that needs none
plans no change, not even a conditional one."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from agenthost import desired, explain
from agenthost.reads.snapshot import read
from agenthost.tasks.docker_group import GroupMembers
from agenthost.tasks.facts import Directory, UserAccount
from agenthost.tasks.ops import managed_file, managed_file_absent
from agenthost.tasks.writes import moded, owned


@operation()
def directory(path: str, user: str, group: str, mode: str):
    """`path` is a directory with this owner and mode (created with its parents if missing).

    Example:
        directory(name="Workspace", path="/var/lib/agent", user="jenkins", group="jenkins",
                  mode="750")
    """
    found = read(Directory, path=path)
    if found is False:
        raise OperationError(f"{path} exists and is not a directory")
    owner_ok = found and (found["user"], found["group"]) == (user, group)
    mode_ok = found and found["mode"] == int(mode)
    if owner_ok and mode_ok:
        host.noop(f"{path} is a directory, {mode} {user}:{group}")
        return
    explain.record(explain.Difference(
        path, f"directory {explain.mode_owner(mode, user, group)}",
        explain.ABSENT if found is None
        else f"directory {explain.mode_owner(str(found['mode']), found['user'], found['group'])}",
    ))  # fmt: skip
    if found is None:
        yield StringCommand("mkdir", "-p", QuoteString(path))
    if not mode_ok:
        yield moded(path, mode)
    if not owner_ok:
        yield owned(path, user, group)


@operation()
def group_present(group: str):
    """The group `group` exists (a new one is an ordinary group, as `groupadd` makes it)."""
    if read(GroupMembers, group=group) is not None:
        host.noop(f"group {group} exists")
        return
    explain.record(explain.Difference(f"group {group}", "present", explain.ABSENT))
    yield StringCommand("groupadd", QuoteString(group))


@operation()
def account_present(user: str, home: str, uid: int | None = None, shell: str = "/bin/bash"):
    """`user` exists with `home` as home directory, which exists and is the user's.

    A new account gets `uid` (or the next free one) and `shell`, and the group of its name
    (an existing group of that name is taken as it is, as server.user takes it). An existing
    account keeps its uid, shell and groups; its home is changed when `home` differs.
    """
    account = read(UserAccount, user=user)
    found = read(Directory, path=home)
    if account is None:
        has_group = read(GroupMembers, group=user) is not None
        yield StringCommand(
            "useradd", "-d", QuoteString(home), "-s", QuoteString(shell),
            *(["-g", QuoteString(user)] if has_group else []),
            *(["--uid", QuoteString(str(uid))] if uid is not None else []),
            "-m", QuoteString(user),
        )  # fmt: skip
        if found:  # `useradd -m` leaves an existing directory's owner as it was
            yield owned(home, user)
        return
    moved = account["home"] != home
    if moved:
        yield StringCommand("usermod", "-d", QuoteString(home), QuoteString(user))
    if not found or (found["user"], found["group"]) != (user, account["group"]):
        yield StringCommand("mkdir", "-p", QuoteString(home))
        yield owned(home, user, account["group"])
    elif not moved:
        host.noop(f"{user} exists, home {home}")


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


@operation()
def files_applied(files: list[desired.File], then: list[str]):
    """`files` hold exactly their content (backed up first, as managed_file does); when any of
    them changed, `then` runs once after all of them: one change, so a no-op plans none.

    Example:
        files_applied(name="Units are current", files=units, then=["systemctl daemon-reload"])
    """
    commands = []
    for file in files:
        if file.content is None:
            commands += managed_file_absent._inner(path=file.path)
        else:
            commands += managed_file._inner(path=file.path, content=file.content, mode=file.mode,
                                            user=file.user, group=file.group,
                                            secret=file.secret)  # fmt: skip
    if not commands:
        host.noop(f"{len(files)} file(s) are up to date")
        return
    yield from commands
    yield from (StringCommand(command) for command in then)

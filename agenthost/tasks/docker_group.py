"""The docker group is root on the host: its members are exactly docker_users, and nobody has it
as primary group unless listed."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, OperationError, QuoteString, StringCommand, operation

from agenthost import explain
from agenthost.reads.snapshot import read
from agenthost.tasks.facts import UserAccount, pending


class GroupEntries(FactBase):
    """What `getent group` prints for each of the groups `values`, by one `getent`
    (reads.snapshot batches reads with it): {"docker": ["docker:x:998:jenkins"]}"""

    default = dict

    def command(self, values: tuple[str, ...]) -> str:
        # getent exits 2 when one of them is missing, and still prints the others.
        return f"getent group {shlex.join(values)}; true"

    def process(self, output: list[str]) -> dict[str, list[str]]:
        return {line.split(":", 1)[0]: [line] for line in output}


class _GroupEntry(FactBase):
    """A group's entry, as `getent group` prints it (nothing without the group)."""

    batch = GroupEntries

    def command(self, group: str) -> str:
        return f"getent group {shlex.quote(group)} || true"


class GroupMembers(_GroupEntry):
    """The supplementary members of a group as /etc/group lists them, or None without the group."""

    def process(self, output: list[str]) -> list[str] | None:
        if not output:
            return None
        members = output[0].split(":")[3]
        return [name for name in members.split(",") if name]


class PrimaryGroupUsers(FactBase):
    """The local users whose primary group is `group` (/etc/passwd), which /etc/group does not
    list as its members; empty without the group."""

    default = list

    def command(self, group: str) -> str:
        return (f"gid=$(getent group {shlex.quote(group)} | cut -d: -f3) && [ -n \"$gid\" ] &&"
                " awk -F: -v gid=\"$gid\" '$4 == gid {print $1}' /etc/passwd || true")  # fmt: skip

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]


def members_title(group: str, users: list[str]) -> str:
    """What an operation keeping `group` to `users` is called (no "exactly nobody": a user)."""
    return f"{group} has exactly {', '.join(users)}" if users else f"{group} has no members"


@operation()
def group_members_exactly(group: str, users: list[str]):
    """`group` lists exactly `users` as members: missing ones added, any other removed.

    Read at execution: the agent user and the group may be created earlier in the same run.
    """
    members = read(GroupMembers, group=group)
    absent = [user for user in users if read(UserAccount, user=user) is None]
    if absent or members is None:
        missing = [f"user {user}" for user in absent]
        missing += [f"group {group}"] if members is None else []
        yield pending(f"{group} cannot list {', '.join(users)}: no {', '.join(missing)}",
                      f"{group} is set once there are {', '.join(missing)}")  # fmt: skip
        return
    primary = [user for user in read(PrimaryGroupUsers, group=group) if user not in users]
    if primary:  # in the group by their primary group: gpasswd cannot take them out
        raise OperationError(
            f"{group} is the primary group of {', '.join(primary)} on {host.name}, which the"
            f" settings do not list: give them a group of their own (usermod -g) or list them"
        )
    add = [user for user in users if user not in members]
    remove = [user for user in members if user not in users]
    if not add and not remove:
        host.noop(members_title(group, users))
        return
    explain.record(explain.members(group, users, members))
    # Names read from the host reach a root shell: quoted, whatever /etc/group holds.
    for user in add:
        yield StringCommand("gpasswd", "--add", QuoteString(user), QuoteString(group), ">/dev/null")
    for user in remove:
        yield StringCommand("gpasswd", "--delete", QuoteString(user), QuoteString(group),
                            ">/dev/null")  # fmt: skip

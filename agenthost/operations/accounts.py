"""Accounts, groups, exact group members and subordinate ids, as pyinfra's server.user and
server.group ensure them, but reading the host's snapshot (reads.snapshot) instead of a
command each. Member names read from the host are quoted before they reach a root shell."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import FileContents

from agenthost import explain, subids
from agenthost.operations.files import Directory, ManagedFileState, managed_file
from agenthost.operations.plan import pending
from agenthost.operations.writes import owned
from agenthost.reads.snapshot import read


@operation()
def subid_file(path: str, user: str, count: int, mode: subids.Mode = "root"):
    """`user`'s lines in /etc/subuid or /etc/subgid map container id 0 (mode `root`) or the
    user's own id (mode `uid`) to the user's own id, and `count` other ids.

    Read at execution, since the user may be created earlier in the same run.
    """
    account = read(UserAccount, user=user)
    if account is None:
        missing = f"{user} does not exist, so {path} cannot map it"
        yield pending(missing, f"{path} is written once {user} exists")
        return
    own_id = account["uid"] if path.endswith("subuid") else account["gid"]
    text = "\n".join(read(FileContents, path=path) or [])
    text += "\n" if text else ""
    try:
        wanted = subids.agent_lines(text, user, own_id, count, mode)
    except subids.SubIdError as error:
        raise OperationError(f"{path}: {error}") from None
    found = read(ManagedFileState, path=path)
    if wanted != text:
        explain.record(explain.lines(path, wanted, text, user))
    yield from managed_file._inner(
        path=path, content=wanted, unchanged_from=found and found["sha256"],
        explained=wanted != text,
    )


class UserAccount(FactBase):
    """The account `user`, from the name service, as `Users` has it (uid, gid, home, primary
    group, supplementary groups):

        {"uid": 1000, "gid": 1000, "home": "/home/jenkins", "group": "jenkins",
         "groups": ["docker"]}

    or None when there is no such user. One command instead of `Users`' loop over every account.
    """

    def command(self, user: str) -> str:
        quoted = shlex.quote(user)
        # Then `id -gn` and `id -Gn`, as `Users` reads them (a gid without a group: its number).
        return (
            f'if entry=$(getent passwd {quoted}); then echo "$entry"; '
            f"id -gn {quoted}; id -Gn {quoted}; fi"
        )

    def process(self, output: list[str]) -> dict | None:
        _name, _password, uid, gid, _gecos, home, _shell = output[0].split(":")
        group, *groups = [output[1], *output[2].split()] if len(output) > 2 else [gid]
        supplementary = [name for name in groups if name != group]
        return {"uid": int(uid), "gid": int(gid), "home": home, "group": group,
                "groups": supplementary}  # fmt: skip


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

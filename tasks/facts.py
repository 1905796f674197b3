"""Facts that read in one command what the built-ins read in several, or read less than they do.

pyinfra 3 does not cache facts: every `host.get_fact` is one round trip. `Users` runs `id` and
`groups` for every account of the host, and a managed file cost a `File` and a `Sha256File`.
And `DockerImage` quoted: pyinfra's puts the reference into the shell as is.
"""

from __future__ import annotations

import shlex
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import host
from pyinfra.api import FactBase, OperationError
from pyinfra.api.state import StateStage
from pyinfra.facts import docker

_planned: WeakKeyDictionary[Any, dict[tuple, Any]] = WeakKeyDictionary()  # by pyinfra State


def planned_fact(fact: type[FactBase], **arguments: Any) -> Any:
    """`host.get_fact` for the reads a deploy function makes while pyinfra prepares the run, once
    per host and arguments: no operation runs before preparation ends, so a second read would
    say the same. Inside an operation, or once operations run, it reads afresh."""
    state = host.state
    if host.in_op or state.current_stage != StateStage.Prepare:
        return host.get_fact(fact, **arguments)
    read = _planned.setdefault(state, {})
    key = (host.name, fact, tuple(sorted(arguments.items())))
    if key not in read:
        read[key] = host.get_fact(fact, **arguments)
    return read[key]


class ManagedFileState(FactBase):
    """Mode (an int such as 644), owner, group and sha256 of the regular file at `path`, as

        {"mode": 644, "user": "root", "group": "root", "sha256": "9f86..."}

    or None when nothing, or something other than a regular file, is there (`File` then is
    falsy too: a link or a directory is replaced like a missing file).
    """

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return (
            f"if [ -f {quoted} ] && [ ! -L {quoted} ]; then "
            f"stat -c '%a %U %G' {quoted} && sha256sum {quoted}; fi"
        )

    def process(self, output: list[str]) -> dict | None:
        mode, user, group = output[0].split()
        return {"mode": int(mode), "user": user, "group": group,
                "sha256": output[1].split()[0]}  # fmt: skip


def account_in_op(user: str, needed_for: str) -> dict | None:
    """The account `user`, read inside an operation: None while planning if it does not exist
    yet (an earlier operation of the run may create it); an error if it still does not exist
    when the operation runs."""
    account = host.get_fact(UserAccount, user=user)
    if account is None and host.state.is_executing:
        raise OperationError(f"{user} does not exist, so {needed_for}")
    return account


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


class DockerImage(docker.DockerImage):
    """`docker image inspect` of one reference, quoted (pyinfra's puts it in the shell as is)."""

    def command(self, object_id: str) -> str:
        return f"docker image inspect {shlex.quote(object_id)} 2>/dev/null || true"

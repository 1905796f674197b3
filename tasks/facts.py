"""Facts that read in one command what the built-ins read in several, or read less than they do.

pyinfra 3 does not cache facts: every `host.get_fact` is one round trip. `Users` runs `id` and
`groups` for every account of the host, and a managed file cost a `File` and a `Sha256File`.
"""

from __future__ import annotations

import shlex

from pyinfra.api import FactBase


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


class UserAccount(FactBase):
    """The account `user`, from the name service, as `Users` has it (uid, gid, home, group):

        {"uid": 1000, "gid": 1000, "home": "/home/jenkins", "group": "jenkins"}

    or None when there is no such user. One `getent` instead of `Users`' loop over every account.
    """

    def command(self, user: str) -> str:
        quoted = shlex.quote(user)
        # The primary group's name from its id; a gid without a group prints the passwd line only.
        return (
            f'if entry=$(getent passwd {quoted}); then echo "$entry"; '
            f'getent group "$(echo "$entry" | cut -d: -f4)" || true; fi'
        )

    def process(self, output: list[str]) -> dict | None:
        _name, _password, uid, gid, _gecos, home, _shell = output[0].split(":")
        group = output[1].split(":")[0] if len(output) > 1 else None
        return {"uid": int(uid), "gid": int(gid), "home": home, "group": group}

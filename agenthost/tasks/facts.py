"""Facts that read in one command what the built-ins read in several, or read less than they do.

`Users` runs `id` and `groups` for every account of the host, `DebPackages` lists every package,
and a managed file cost a `File` and a `Sha256File`. And `DockerImage` quoted: pyinfra's puts
the reference into the shell as is.
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, OperationError, StringCommand
from pyinfra.facts import docker, files


class ManagedFileStates(FactBase):
    """What `ManagedFileState` prints for each of the paths `values`, by one `stat` and one
    `sha256sum` (reads.snapshot batches reads with it):

        {"/etc/docker/daemon.json": ["644 root root", "9f86...  /etc/docker/daemon.json"]}

    without the paths that are not regular files.
    """

    default = dict

    def command(self, values: tuple[str, ...]) -> str:
        quoted = shlex.join(values)
        return (
            f'set --; for path in {quoted}; do [ -f "$path" ] && [ ! -L "$path" ]'
            ' && set -- "$@" "$path"; done;'
            """ [ $# = 0 ] || { stat -c '%a %U %G %n' -- "$@" && sha256sum -- "$@"; }"""
        )

    def process(self, output: list[str]) -> dict[str, list[str]]:
        half = len(output) // 2
        printed = {}
        for stat, checksum in zip(output[:half], output[half:], strict=True):
            mode, user, group, path = stat.split(" ", 3)
            printed[path] = [f"{mode} {user} {group}", checksum]
        return printed


class ManagedFileState(FactBase):
    """Mode (an int such as 644), owner, group and sha256 of the regular file at `path`, as

        {"mode": 644, "user": "root", "group": "root", "sha256": "9f86..."}

    or None when nothing, or something other than a regular file, is there (`File` then is
    falsy too: a link or a directory is replaced like a missing file).
    """

    batch = ManagedFileStates

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


class PathStats(FactBase):
    """What pyinfra's `File` and `Directory` print for each of the paths `values`, by one
    `stat` (reads.snapshot batches reads with it): {"/home/jenkins": ["user=jenkins ..."]},
    without the paths where nothing is."""

    default = dict

    def command(self, values: tuple[str, ...]) -> str:
        self.paths = values
        quoted = shlex.join(values)
        # First the indices of the paths where something is, then their `stat`s in that order.
        return (
            f'set --; i=0; for path in {quoted}; do if [ -e "$path" ] || [ -L "$path" ]; then'
            ' set -- "$@" "$path"; printf "%s " $i; fi; i=$((i + 1)); done; echo;'
            f' [ $# = 0 ] || {files.LINUX_STAT_COMMAND} -- "$@"'
        )

    def process(self, output: list[str]) -> dict[str, list[str]]:
        found = [self.paths[int(index)] for index in output[0].split()]
        return {path: [line] for path, line in zip(found, output[1:], strict=True)}


class File(files.File):
    """pyinfra's `File`; in a snapshot, read with every other path's by one `stat`."""

    batch = PathStats


class Directory(files.Directory):
    """pyinfra's `Directory`; in a snapshot, read with every other path's by one `stat`."""

    batch = PathStats


def pending(error: str, waiting: str) -> StringCommand:
    """For an operation whose inputs (an account, an image, a package) are not on the host:
    while pyinfra plans, a command that does nothing and says what it waits for (an earlier
    operation of the run may make them); when it runs, OperationError(`error`)."""
    if host.state.is_executing:
        raise OperationError(error)
    return StringCommand("true", f"# {waiting}")


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


def _dpkg_query(names: tuple[str, ...]) -> str:
    return (
        f"dpkg-query -W -f '${{db:Status-Abbrev}} ${{Package}} ${{Version}}\\n' {shlex.join(names)}"
        " 2>/dev/null || true"
    )


class PackageStatuses(FactBase):
    """What `PackageVersions` prints for each of the name lists `values`, by one `dpkg-query`
    of them all (reads.snapshot batches reads with it), which reads dpkg's database once:

        {("acl",): ["ii  acl 2.3.1-3"], ("docker.io", "runc"): [...]}
    """

    default = dict

    def command(self, values: tuple[tuple[str, ...], ...]) -> str:
        self.lists = values
        return _dpkg_query(tuple(sorted({name for names in values for name in names})))

    def process(self, output: list[str]) -> dict[tuple[str, ...], list[str]]:
        by_package: dict[str, list[str]] = {}
        for line in output:
            if len(fields := line.split()) > 1:
                by_package.setdefault(fields[1], []).append(line)
        return {names: [line for name in names for line in by_package.get(name, [])]
                for names in self.lists}  # fmt: skip


class PackageVersions(FactBase):
    """The installed versions of the packages `names` (a tuple), as `DebPackages` has them,
    without the packages that are not installed:

        {"docker.io": ["26.1.5+dfsg1-9+b11"]}

    `dpkg-query` of these packages only, instead of `dpkg -l` of every package.
    """

    default = dict
    batch = PackageStatuses

    def requires_command(self, names: tuple[str, ...]) -> str:
        return "dpkg-query"

    def command(self, names: tuple[str, ...]) -> str:
        return _dpkg_query(names)

    def process(self, output: list[str]) -> dict[str, list[str]]:
        installed: dict[str, list[str]] = {}
        for status, name, *version in (line.split() for line in output):
            if status in ("ii", "hi") and version:  # installed (held or not), as `dpkg -l` has it
                installed.setdefault(name, []).append(version[0])
        return installed

"""Files agenthost owns: written whole, backed up first (operations.backups), compared by
content, mode and owner, and the facts that read them in one command."""

from __future__ import annotations

import hashlib
import json
import shlex

from pyinfra import host, logger
from pyinfra.api import FactBase, OperationError, QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts import files
from pyinfra.facts.files import FileContents
from pyinfra.operations.util.files import generate_color_diff

from agenthost import desired, explain
from agenthost.operations.backups import backup, listed_as_created
from agenthost.operations.writes import atomic_upload, moded, owned
from agenthost.paths import BACKUP_DIR
from agenthost.reads.snapshot import Read, read


@operation()
def managed_file(path: str, content: str, mode: str = "644", user: str = "root",
                 group: str = "root", secret: bool = False,
                 unchanged_from: str | None = None, explained: bool = False):  # fmt: skip
    """`path` holds exactly `content`; a different file there is backed up first.

    The content arrives in a root-only file beside `path` that is then renamed over it, so a
    reader sees the old file or the new one, never half of it; a secret is never diffed.
    `explained`: the caller has recorded what differs (agenthost.explain) its own way.
    """
    current = read(ManagedFileState, path=path)  # stat and checksum
    same = current and current["sha256"] == _sha256(content)
    if same and (current["mode"], current["user"], current["group"]) == (int(mode), user, group):
        host.noop(f"{path} is up to date")
        return
    if not explained:
        for difference in explain.file_differences(path, content, mode, user, group, current,
                                                   bool(same), secret):  # fmt: skip
            explain.record(difference)
    if not same and host.state.config.DIFF:
        _show_diff(path, content, bool(current), secret)
    if not same and current and secret:
        host.log(f"{path} holds credentials: its earlier versions are not kept in {BACKUP_DIR}"
                 " (only the host's own, as its first backup)")  # fmt: skip
    if same:  # only the owner or mode differ
        yield owned(path, user, group)
        yield moded(path, mode)
        return
    yield from backup(path, exists=bool(current), secret=secret)
    if not current:
        yield from listed_as_created(path)
    yield from atomic_upload(content, path, mode, user, group, unchanged_from)


def desired_file(file: desired.File, name: str) -> OperationMeta:
    """Apply a desired.File: `managed_file`, or `managed_file_absent` when it must not exist."""
    if file.content is None:
        return managed_file_absent(name=name, path=file.path)
    return managed_file(name=name, path=file.path, content=file.content, mode=file.mode,
                        user=file.user, group=file.group, secret=file.secret)  # fmt: skip


def desired_file_read(file: desired.File) -> Read:
    """What `desired_file` reads for `file`, for the host's snapshot (reads.declared)."""
    return Read(File if file.content is None else ManagedFileState, path=file.path)


@operation()
def json_keys(path: str, keys: dict, mode: str = "600", user: str = "root", group: str = "root"):
    """The JSON object in `path` has exactly `keys` at its top level (a key whose value is empty
    is removed) and keeps every other key, such as what `docker login` wrote there.

    Args:
        path: the JSON file; created when missing.
        keys: top-level keys agenthost owns, with their values.
        mode, user, group: the file's mode and owner; its content is treated as a secret.
    """
    lines = read(FileContents, path=path)
    try:
        current = json.loads("\n".join(lines)) if lines else {}
    except ValueError:
        current = None  # not JSON: replaced, the old file kept as a backup
    merged = dict(current) if isinstance(current, dict) else {}
    for key, value in keys.items():
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    content = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    yield from managed_file._inner(path=path, content=content, mode=mode, user=user,
                                   group=group, secret=True)  # fmt: skip


@operation()
def managed_file_absent(path: str):
    """`path` does not exist; what was there is backed up first."""
    if not read(File, path=path):
        host.noop(f"{path} does not exist")
        return
    explain.record(explain.Difference(path, explain.ABSENT, "present"))
    yield from backup(path)
    yield StringCommand("rm", "-f", QuoteString(path))


def _show_diff(path: str, content: str, exists: bool, secret: bool) -> None:
    """What `pyinfra --diff` shows, as files.put shows it; never a secret's content."""
    host.log(f"Will {'modify' if exists else 'create'} {path}", logger.info)
    if secret:
        logger.info("  (secret: content not shown)")
        return
    current = read(FileContents, path=path) if exists else None
    before = [f"{line}\n" for line in current or []]
    for line in generate_color_diff(before, content.splitlines(keepends=True)):
        logger.info("  %s", line)


def _sha256(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


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

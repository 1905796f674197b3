"""Operations the built-ins lack: files we own that keep what a person wrote, and subid lines.

Whatever we replace is first copied, root-only, to BACKUP_DIR/<run stamp>/<path>, and what we
create is listed in BACKUP_DIR/created: the host's state before agenthost, for retiring it.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import NamedTuple

from pyinfra import host, logger
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import FileContents
from pyinfra.operations.util.files import generate_color_diff

from agenthost import desired, explain, subids
from agenthost.paths import BACKUP_DIR
from agenthost.reads.snapshot import Read, read
from agenthost.run import run_stamp
from agenthost.tasks.facts import File, ManagedFileState, UserAccount, pending

# The atomic upload and its temporary names, as the stages have imported them from here.
from agenthost.tasks.writes import atomic_upload, moded, owned
from agenthost.tasks.writes import temp_path as temp_path

CREATED = f"{BACKUP_DIR}/created"  # the files agenthost created, one path a line
KEEP_BACKUPS = 10  # per file
_not_checked: dict[str, list[str]] = {}
_observed: dict[str, dict[str, list[str]]] = {}


def not_checked(what: str) -> None:
    """Drift cannot compare `what` on the current host: only the deploy machine has its source."""
    _not_checked.setdefault(host.name, []).append(what)


def not_checked_on(name: str) -> list[str]:
    return _not_checked.get(name, [])


def observe_packages(installed: dict[str, list[str]]) -> None:
    """Keep the package versions an operation read: drift reports the engine's at no cost."""
    _observed.setdefault(host.name, {}).update(installed)


def packages_seen_on(name: str) -> dict[str, list[str]]:
    return _observed.get(name, {})


class Managed(NamedTuple):
    """An operation that may change what dockerd reads (desired.dockerd_files, or its packages),
    for the restart that applies it; if the restart fails, the files are restored from their
    backups and `undo` is run."""

    op: OperationMeta
    undo: str | None = None


def changes(op: OperationMeta) -> bool:
    """Whether `op` changed the host (executed) or will change it (planned): for an operation
    that must follow it, as one operation rather than a conditional `_if` step, which a plan
    lists as a possible change even when nothing changes."""
    return op.did_change() if op.is_complete() else op.will_change


@operation()
def followed(changed: list[OperationMeta], commands: list[str]):
    """`commands` have run if one of the operations `changed` changed the host: a reload that
    follows them, as an operation of its own that reads their result (see `changes`)."""
    if not any(changes(op) for op in changed):
        host.noop("nothing it follows changed")
        return
    yield from (StringCommand(command) for command in commands)


class ShownCommand(StringCommand):
    """A command whose output pyinfra shows as it comes, as with `-v`: a wait that says what it
    waits for, instead of a silent half-minute."""

    def execute(self, state, host, connector_arguments):
        connector_arguments.update(self.connector_arguments)
        return host.run_shell_command(self, print_output=True, print_input=state.print_input,
                                      **connector_arguments)  # fmt: skip


def backup_path(path: str) -> str:
    return f"{BACKUP_DIR}/{run_stamp()}{path}"


def restore_command(path: str) -> str:
    """Shell that puts back `path` as it was before this run: its backup, or no file."""
    saved, path = shlex.quote(backup_path(path)), shlex.quote(path)
    return f"if [ -e {saved} ]; then cp -p {saved} {path}; else rm -f {path}; fi"


def backup(path: str, exists: bool = True, secret: bool = False):
    """Root-only through the top directory, the copy keeps its mode so a restore is exact; a
    file this run creates gets a `.absent` marker instead, so a rollback removes only that. A
    `secret` (credentials) is copied only when it is the host's own (secret_backup)."""
    backup = backup_path(path)
    yield StringCommand("install", "-d", "-m", "0700", BACKUP_DIR)
    yield backup_dirs(backup.rsplit("/", 1)[0])
    if exists and secret:
        yield secret_backup(path)
    elif exists:
        yield StringCommand("cp", "-p", QuoteString(path), QuoteString(backup))
    else:
        yield StringCommand("touch", QuoteString(f"{backup}.absent"))
    yield prune_backups(path)


def backup_dirs(directory: str, root: str = BACKUP_DIR) -> str:
    """Shell that makes `directory` and its parents 0700, and any folder of `root` a run before
    this one made 0755 (mkdir -p's default) root-only too."""
    return (
        f"umask 077 && mkdir -p {shlex.quote(directory)}"
        f" && find {root} -type d -perm /077 -exec chmod go= {{}} +"
    )


def secret_backup(path: str, root: str = BACKUP_DIR) -> str:
    """Shell that copies a file holding credentials only when it is the host's own (no backup of
    it yet, and agenthost did not create it: retiring restores it); otherwise removes every
    backup of it but that first one, so a rotated password leaves no copy on the host."""
    pattern, quoted = f"{root}/*{shlex.quote(path)}", shlex.quote(path)
    copy = shlex.quote(f"{root}/{run_stamp()}{path}")
    earlier = f"ls -1d {pattern} {pattern}.absent 2>/dev/null"
    return (
        f"if {earlier} | grep -q . || grep -qxF {quoted} {root}/created 2>/dev/null; then"
        f" {earlier} | sort | sed 1d | xargs -r rm -f;"
        f" else cp -p {quoted} {copy}; fi"
    )


def prune_backups(path: str, root: str = BACKUP_DIR) -> str:
    """Shell that keeps the first backup of `path` (the host's own version, which retiring
    restores) and the newest KEEP_BACKUPS, and drops empty run dirs."""
    pattern = f"{root}/*{shlex.quote(path)}"
    return (
        f"ls -1d {pattern} {pattern}.absent 2>/dev/null | sort | sed 1d | head -n -{KEEP_BACKUPS}"
        f" | xargs -r rm -f; find {root} -mindepth 1 -type d -empty -delete"
    )


def _created(path: str):
    # What the host had before agenthost: no file here (retiring removes it), unless an earlier
    # run backed up the host's own (deleted by hand since: retiring restores that).
    quoted, earlier = shlex.quote(path), f"{BACKUP_DIR}/*{shlex.quote(path)}"
    yield StringCommand(f"grep -qxF {quoted} {CREATED} 2>/dev/null || ls -d {earlier} >/dev/null"
                        f" 2>&1 || echo {quoted} >> {CREATED}")  # fmt: skip


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
        yield from _created(path)
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

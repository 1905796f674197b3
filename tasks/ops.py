"""Operations the built-ins lack: files we own that keep what a person wrote, and subid lines.

Whatever we replace is first copied, root-only, to BACKUP_DIR/<run stamp>/<path>, and what we
create is listed in BACKUP_DIR/created: the host's state before agenthost, for retiring it.
"""

from __future__ import annotations

import hashlib
import shlex
from datetime import UTC, datetime
from io import StringIO
from typing import NamedTuple

from pyinfra import host, logger
from pyinfra.api import FileUploadCommand, OperationError, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File, FileContents
from pyinfra.operations.util.files import generate_color_diff

from agenthost import desired, subids
from agenthost.tasks.facts import ManagedFileState, account_in_op

BACKUP_DIR = "/var/backups/agenthost"
CREATED = f"{BACKUP_DIR}/created"  # the files agenthost created, one path a line
RUN_STAMP = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
_not_checked: dict[str, list[str]] = {}


def not_checked(what: str) -> None:
    """Drift cannot compare `what` on the current host: only the deploy machine has its source."""
    _not_checked.setdefault(host.name, []).append(what)


def not_checked_on(name: str) -> list[str]:
    return _not_checked.get(name, [])


class Managed(NamedTuple):
    """A file (or, path None, packages) an operation may have changed, for the restart that
    applies it; if the restart fails, a file is restored from its backup and `undo` is run."""

    op: OperationMeta
    path: str | None
    undo: str | None = None


def backup_path(path: str) -> str:
    return f"{BACKUP_DIR}/{RUN_STAMP}{path}"


def restore_command(path: str) -> str:
    """Shell that puts back `path` as it was before this run: its backup, or no file."""
    saved, path = shlex.quote(backup_path(path)), shlex.quote(path)
    return f"if [ -e {saved} ]; then cp -p {saved} {path}; else rm -f {path}; fi"


def backup(path: str):
    # Root-only through the top directory; the copy keeps its mode so a restore is exact.
    backup = backup_path(path)
    yield StringCommand("install", "-d", "-m", "0700", BACKUP_DIR)
    yield StringCommand("mkdir", "-p", backup.rsplit("/", 1)[0])
    yield StringCommand("cp", "-p", path, backup)


def _created(path: str):
    # What the host had before agenthost: no file here (retiring the host removes it again).
    yield StringCommand("install", "-d", "-m", "0700", BACKUP_DIR)
    quoted = shlex.quote(path)
    yield StringCommand(f"grep -qxF {quoted} {CREATED} 2>/dev/null || echo {quoted} >> {CREATED}")


@operation()
def managed_file(path: str, content: str, mode: str = "644", user: str = "root",
                 group: str = "root", secret: bool = False):  # fmt: skip
    """`path` holds exactly `content`; a different file there is backed up first.

    A secret file is made root-only before its content arrives and is never diffed in output.
    """
    current = host.get_fact(ManagedFileState, path=path)  # one round trip: stat and checksum
    same = current and current["sha256"] == _sha256(content)
    if same and (current["mode"], current["user"], current["group"]) == (int(mode), user, group):
        host.noop(f"{path} is up to date")
        return
    if not same and host.state.config.DIFF:
        _show_diff(path, content, bool(current), secret)
    if current and not same:
        yield from backup(path)
    if not current:
        yield from _created(path)
    yield StringCommand("mkdir", "-p", path.rsplit("/", 1)[0])
    if secret or not current:
        yield StringCommand("install", "-m", "0600", "/dev/null", path)
    # With _sudo, pyinfra uploads through this temporary file first (as files.put does).
    temp_dir = (host.current_op_global_arguments or {}).get("_temp_dir")
    temp = host.get_temp_filename(path, temp_directory=temp_dir)
    yield FileUploadCommand(StringIO(content), path, remote_temp_filename=temp)
    yield StringCommand("chown", f"{user}:{group}", path)
    yield StringCommand("chmod", mode, path)


def desired_file(file: desired.File, name: str) -> OperationMeta:
    """Apply a desired.File: `managed_file`, or `managed_file_absent` when it must not exist."""
    if file.content is None:
        return managed_file_absent(name=name, path=file.path)
    return managed_file(name=name, path=file.path, content=file.content, mode=file.mode,
                        user=file.user, group=file.group, secret=file.secret)  # fmt: skip


@operation()
def managed_file_absent(path: str):
    """`path` does not exist; what was there is backed up first."""
    if not host.get_fact(File, path=path):
        host.noop(f"{path} does not exist")
        return
    yield from backup(path)
    yield StringCommand("rm", "-f", path)


@operation()
def subid_file(path: str, user: str, count: int, mode: subids.Mode = "root"):
    """`user`'s lines in /etc/subuid or /etc/subgid map container id 0 (mode `root`) or the
    user's own id (mode `uid`) to the user's own id, and `count` other ids.

    Read at execution, since the user may be created earlier in the same run.
    """
    account = account_in_op(user, f"{path} cannot map it")
    if account is None:
        yield StringCommand("true", f"# {path} is written once {user} exists")
        return
    own_id = account["uid"] if path.endswith("subuid") else account["gid"]
    text = "\n".join(host.get_fact(FileContents, path=path) or [])
    text += "\n" if text else ""
    try:
        wanted = subids.agent_lines(text, user, own_id, count, mode)
    except subids.SubIdError as error:
        raise OperationError(f"{path}: {error}") from None
    yield from managed_file._inner(path=path, content=wanted)


def _show_diff(path: str, content: str, exists: bool, secret: bool) -> None:
    """What `pyinfra --diff` shows, as files.put shows it; never a secret's content."""
    host.log(f"Will {'modify' if exists else 'create'} {path}", logger.info)
    if secret:
        logger.info("  (secret: content not shown)")
        return
    current = host.get_fact(FileContents, path=path) if exists else None
    before = [f"{line}\n" for line in current or []]
    for line in generate_color_diff(before, content.splitlines(keepends=True)):
        logger.info("  %s", line)


def _sha256(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()

"""Operations the built-ins lack: files we own that keep what a person wrote, and subid lines.

Whatever we replace is first copied, root-only, to BACKUP_DIR/<run stamp>/<path>.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from io import StringIO
from typing import NamedTuple

from pyinfra import host, logger
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File, FileContents, Sha256File
from pyinfra.facts.server import Users
from pyinfra.operations.util.files import generate_color_diff

from agenthost import desired, subids

BACKUP_DIR = "/var/backups/agenthost"
RUN_STAMP = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
_not_checked: dict[str, list[str]] = {}


def not_checked(what: str) -> None:
    """Drift cannot compare `what` on the current host: only the deploy machine has its source."""
    _not_checked.setdefault(host.name, []).append(what)


def not_checked_on(name: str) -> list[str]:
    return _not_checked.get(name, [])


class Managed(NamedTuple):
    """A file an operation may have changed, for the restart that applies it."""

    op: OperationMeta
    path: str


def backup_path(path: str) -> str:
    return f"{BACKUP_DIR}/{RUN_STAMP}{path}"


def _backup(path: str):
    # Root-only through the top directory; the copy keeps its mode so a restore is exact.
    backup = backup_path(path)
    yield StringCommand("install", "-d", "-m", "0700", BACKUP_DIR)
    yield StringCommand("mkdir", "-p", QuoteString(backup.rsplit("/", 1)[0]))
    yield StringCommand("cp", "-p", QuoteString(path), QuoteString(backup))


@operation()
def managed_file(path: str, content: str, mode: str = "644", user: str = "root",
                 group: str = "root", secret: bool = False):  # fmt: skip
    """`path` holds exactly `content`; a different file there is backed up first.

    A secret file is made root-only before its content arrives and is never diffed in output.
    """
    current = host.get_fact(File, path=path)
    same = current and host.get_fact(Sha256File, path=path) == _sha256(content)
    if same and (current["mode"], current["user"], current["group"]) == (int(mode), user, group):
        host.noop(f"{path} is up to date")
        return
    if not same and host.state.config.DIFF:
        _show_diff(path, content, bool(current), secret)
    if current and not same:
        yield from _backup(path)
    yield StringCommand("mkdir", "-p", QuoteString(path.rsplit("/", 1)[0]))
    if secret or not current:
        yield StringCommand("install", "-m", "0600", "/dev/null", QuoteString(path))
    # With _sudo, pyinfra uploads through this temporary file first (as files.put does).
    temp_dir = (host.current_op_global_arguments or {}).get("_temp_dir")
    temp = host.get_temp_filename(path, temp_directory=temp_dir)
    yield FileUploadCommand(StringIO(content), path, remote_temp_filename=temp)
    yield StringCommand("chown", QuoteString(f"{user}:{group}"), QuoteString(path))
    yield StringCommand("chmod", QuoteString(mode), QuoteString(path))


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
    yield from _backup(path)
    yield StringCommand("rm", "-f", QuoteString(path))


@operation()
def subid_file(path: str, user: str, count: int):
    """`user`'s lines in /etc/subuid or /etc/subgid map container id 0 to the user's own id.

    Read at execution, since the user may be created earlier in the same run.
    """
    account = host.get_fact(Users).get(user)
    if account is None:
        if host.state.is_executing:
            raise OperationError(f"{user} does not exist, so {path} cannot map it")
        yield StringCommand("true", f"# {path} is written once {user} exists")
        return
    own_id = account["uid"] if path.endswith("subuid") else account["gid"]
    text = "\n".join(host.get_fact(FileContents, path=path) or [])
    text += "\n" if text else ""
    try:
        wanted = subids.agent_lines(text, user, own_id, count)
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

"""What agenthost replaces is first copied, root-only, to BACKUP_DIR/<run stamp>/<path>, and
what it creates is listed in BACKUP_DIR/created: the host's state before agenthost, for
retiring it and for a rollback."""

from __future__ import annotations

import shlex

from pyinfra.api import QuoteString, StringCommand

from agenthost.operations.writes import copied
from agenthost.paths import BACKUP_DIR
from agenthost.run import run_stamp

CREATED = f"{BACKUP_DIR}/created"  # the files agenthost created, one path a line


KEEP_BACKUPS = 10  # per file


def backup_path(path: str) -> str:
    return f"{BACKUP_DIR}/{run_stamp()}{path}"


def restore_command(path: str) -> str:
    """Shell that puts back `path` as it was before this run: its backup, or no file."""
    saved, path = shlex.quote(backup_path(path)), shlex.quote(path)
    copy = copied(backup_path(path), path)
    return f"if [ -e {saved} ]; then {copy}; else rm -f {path}; fi"


def backup(path: str, exists: bool = True, secret: bool = False):
    """Root-only through the top directory, the copy keeps its mode so a restore is exact; a
    file this run creates gets a `.absent` marker instead, so a rollback removes only that. A
    `secret` (credentials) is copied only when it is the host's own (secret_backup)."""
    backup = backup_path(path)
    yield StringCommand("install", "-d", "-m", "0700", BACKUP_DIR)
    yield backup_dirs(backup.rsplit("/", 1)[0])
    if exists and secret:
        yield secret_backup(path)
    elif exists:  # a backup cut short by a full disk would be restored as the file
        yield copied(path, backup)
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
    copy = copied(path, f"{root}/{run_stamp()}{path}")
    earlier = f"ls -1d {pattern} {pattern}.absent 2>/dev/null"
    return (
        f"if {earlier} | grep -q . || grep -qxF {quoted} {root}/created 2>/dev/null; then"
        f" {earlier} | sort | sed 1d | xargs -r rm -f;"
        f" else {copy}; fi"
    )


def prune_backups(path: str, root: str = BACKUP_DIR) -> str:
    """Shell that keeps the first backup of `path` (the host's own version, which retiring
    restores) and the newest KEEP_BACKUPS, and drops empty run dirs."""
    pattern = f"{root}/*{shlex.quote(path)}"
    return (
        f"ls -1d {pattern} {pattern}.absent 2>/dev/null | sort | sed 1d | head -n -{KEEP_BACKUPS}"
        f" | xargs -r rm -f; find {root} -mindepth 1 -type d -empty -delete"
    )


def listed_as_created(path: str):
    """Commands that list `path` in CREATED: what the host had before agenthost was no file
    here (retiring removes it), unless an earlier run backed up the host's own (deleted by hand
    since: retiring restores that)."""
    quoted, earlier = shlex.quote(path), f"{BACKUP_DIR}/*{shlex.quote(path)}"
    yield StringCommand(f"grep -qxF {quoted} {CREATED} 2>/dev/null || ls -d {earlier} >/dev/null"
                        f" 2>&1 || echo {quoted} >> {CREATED}")  # fmt: skip

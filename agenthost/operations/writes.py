"""How root writes files: uploads staged in the operation's _temp_dir, a file replaced whole
or not at all, and owner and mode set on the path itself, never through a symbolic link."""

from __future__ import annotations

import shlex
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand

from agenthost.run import RUN_ID

# What temp_path names match: a run that failed mid-write leaves one (operations.leftovers).
TEMP_NAMES = ".*.agenthost-*"


def temp_path(path: str) -> str:
    """A name next to `path` (same file system, so `mv` is atomic), unique to this run."""
    directory, name = path.rsplit("/", 1)
    return f"{directory}/.{name}.agenthost-{RUN_ID}"


def copied(source: str, path: str) -> str:
    """Shell that copies `source` (mode and owner kept) to `path` whole or not at all: a full
    disk leaves neither a truncated `path` nor the partial copy."""
    temp, source, path = map(shlex.quote, (temp_path(path), source, path))
    return f"{{ cp -p {source} {temp} && mv -f {temp} {path}; }} || {{ rm -f {temp}; false; }}"


def owned(path: str, user: str, group: str | None = None) -> StringCommand:
    """chown of `path` itself: a link there (its folder may be the agent's, who could swap a
    file for a link to /etc/shadow) is changed, never what it points to."""
    return StringCommand("chown", "-h", QuoteString(f"{user}:{group or ''}"), QuoteString(path))


def moded(path: str, mode: str) -> StringCommand:
    """chmod of `path`, refused when it is a symbolic link: chmod would follow it."""
    quoted = shlex.quote(path)
    return StringCommand(
        f"{{ [ ! -L {quoted} ] || {{ echo {shlex.quote(f'{path} is a symbolic link')} >&2;"
        f" exit 1; }}; }} && chmod {shlex.quote(mode)} {quoted}"
    )


def upload(content: str, path: str) -> FileUploadCommand:
    """`content` uploaded to `path`. With _sudo, pyinfra uploads to a temporary file first:
    in the operation's _temp_dir when it has one (as files.put does), never past it to /tmp."""
    temp_dir = (host.current_op_global_arguments or {}).get("_temp_dir")
    staged = host.get_temp_filename(path, temp_directory=temp_dir)
    return FileUploadCommand(StringIO(content), path, remote_temp_filename=staged)


def atomic_upload(content: str, path: str, mode: str, user: str = "root", group: str = "root",
                  unchanged_from: str | None = None):  # fmt: skip
    """`path` gets `content` whole or not at all: written root-only beside it, then renamed.

    With `unchanged_from` (a sha256), the rename happens under shadow's lock (`path`.lock, made
    by link(2) as useradd makes it) and only if `path` still has that checksum.
    """
    temp = temp_path(path)
    yield StringCommand("mkdir", "-p", QuoteString(path.rsplit("/", 1)[0]))
    yield StringCommand("install", "-m", "0600", "/dev/null", QuoteString(temp))
    yield upload(content, temp)
    yield StringCommand("chown", QuoteString(f"{user}:{group}"), QuoteString(temp))
    yield StringCommand("chmod", QuoteString(mode), QuoteString(temp))
    if unchanged_from is None:
        yield StringCommand("mv", "-f", QuoteString(temp), QuoteString(path))
    else:
        yield shadow_locked_replace(temp, path, unchanged_from)


def shadow_locked_replace(temp: str, path: str, sha256: str) -> str:
    """Shell that renames `temp` over `path` holding shadow's lock (a file holding our pid,
    linked to `path`.lock; waits up to 30 s), if `path` was not changed since it was read."""
    lock, mine = shlex.quote(f"{path}.lock"), shlex.quote(f"{temp_path(path)}.pid")
    temp, path = shlex.quote(temp), shlex.quote(path)
    return (
        f"echo $$ >{mine} && i=0; until ln {mine} {lock} 2>/dev/null; do"
        f" i=$((i+1)); if [ $i -ge 30 ]; then rm -f {mine} {temp};"
        f" echo {path}: locked by another program for 30 s >&2; exit 1; fi; sleep 1; done;"
        f" if echo {sha256}' '{path} | sha256sum --check --status; then mv -f {temp} {path};"
        f" status=$?; else echo {path} changed while agenthost worked, run again >&2; status=1;"
        f" rm -f {temp}; fi; rm -f {lock} {mine}; exit $status"
    )

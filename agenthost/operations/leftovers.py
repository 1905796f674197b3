"""Temporary files and scratch a run leaves when it stops half-way (a full disk, a dropped
connection, a killed controller): what they are (writes.TEMP_NAMES beside what a run writes,
paths.SCRATCH), found by one read and removed by one command."""

from __future__ import annotations

import posixpath
import shlex
from fnmatch import fnmatch

from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, operation

from agenthost import desired, engine, explain
from agenthost.operations.writes import TEMP_NAMES
from agenthost.paths import (
    AGENT_SECRET_DIR,
    APPLY_DIR,
    APT_NO_PROXY,
    BACKUP_DIR,
    SCRATCH,
    SCRATCH_DIRS,
    WORK_DIR,
)
from agenthost.reads.snapshot import read
from agenthost.settings import Settings

# Searched whole: most folders agenthost writes in are under one of these.
TREES = ("/etc", BACKUP_DIR, posixpath.dirname(APT_NO_PROXY))
# Searched for their own entries only: an agent's workspace may be in WORK_DIR, and is not read.
OWN_FOLDERS = (WORK_DIR, APPLY_DIR, AGENT_SECRET_DIR)


def under(folder: str, trees: tuple[str, ...]) -> bool:
    return any(folder == tree or folder.startswith(tree + "/") for tree in trees)


class Leftovers(FactBase):
    """Temporary files (writes.TEMP_NAMES) under `trees` and directly in `directories`, and the
    scratch an earlier run did not remove. A line that is not such a path (a file name with a
    newline in the agent's home) is not taken for one."""

    default = list

    def command(self, trees: tuple[str, ...], directories: tuple[str, ...]) -> str:
        names = shlex.quote(TEMP_NAMES)
        own = f"find {shlex.join(directories)} -maxdepth 1 -name {names};" if directories else ""
        self.trees, self.directories = trees, directories
        return (
            f"{{ find {shlex.join(trees)} -xdev -name {names}; {own}"
            f" find {shlex.join(SCRATCH_DIRS)} -mindepth 1 -maxdepth 1;"
            f" find {shlex.join(p for p in SCRATCH if p not in SCRATCH_DIRS)} -maxdepth 0;"
            " } 2>/dev/null; true"
        )

    def process(self, output: list[str]) -> list[str]:
        def left(path: str) -> bool:
            folder, name = posixpath.split(path)
            if folder in SCRATCH_DIRS or path in SCRATCH:
                return True
            return fnmatch(name, TEMP_NAMES) and (folder in self.directories
                                                  or under(folder, self.trees))  # fmt: skip

        return sorted(path for path in set(output) if left(path))


@operation()
def no_leftovers(trees: tuple[str, ...], directories: tuple[str, ...]):
    """No temporary file of an earlier run is left under `trees` or in `directories`, and no
    scratch (paths.SCRATCH).

    Args:
        trees: folders searched whole (on their own file system).
        directories: folders searched for their own entries only.

    Example:
        no_leftovers(name="Nothing is left of an interrupted run",
                     trees=("/etc",), directories=("/home/jenkins/.ssh",))
    """
    found = read(Leftovers, trees=trees, directories=directories)
    if not found:
        host.noop("nothing is left of an interrupted run")
        return
    for path in found:
        explain.record(explain.Difference(path, explain.ABSENT, "left by an interrupted run"))
    yield StringCommand("rm", "-rf", "--", *map(QuoteString, found))


def agent_directories(settings: Settings, system: engine.System,
                      account: desired.Account) -> tuple[str, ...]:  # fmt: skip
    """The folders agenthost writes in outside TREES: its own in WORK_DIR, the agent's .ssh and
    Docker config."""
    folders = {posixpath.dirname(file.path) for file in desired.files(settings, account, system)}
    return tuple(sorted({*OWN_FOLDERS, *(f for f in folders if not under(f, TREES))}))

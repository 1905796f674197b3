"""What `agenthost drift` checks before any host is read, so that a mistake is reported at once
and whole, never as a host that could not be checked, nor after the hosts were read.

Usage mistakes (exit 64): a report path into a folder that does not exist, an inventory pyinfra
cannot load (its own words), a --limit that matches no host (pyinfra's words), and for
--write-units a folder, a --user or a --schedule that the units could not work with.
Then drift checks the settings of every host within --limit, all their errors at once (exit 1).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from agenthost import calendar, fleet


class UsageError(Exception):
    """The command line cannot work; one line a problem."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def report_paths(reports: dict[str, str | None]) -> list[str]:
    """Why each report file (by option) could not be written: checked before the hosts are read,
    so that a run does not end in a traceback after the table."""
    problems = []
    for option, name in reports.items():
        if not name:
            continue
        path = Path(name)
        if path.is_dir():
            problems.append(f"{option} {name}: is a directory")
        elif not path.parent.is_dir():
            problems.append(f"{option} {name}: no such directory {str(path.parent)!r}")
        elif not os.access(path if path.exists() else path.parent, os.W_OK):
            problems.append(f"{option} {name}: not writable")
    return problems


def units_options(directory: str, user: str, schedule: str) -> list[str]:
    """Why units written with these options would fail when they first run (at 03:00)."""
    problems = []
    if not Path(directory).is_dir():
        problems.append(f"--write-units {directory}: no such directory")
    try:
        pwd.getpwnam(user)
    except KeyError:
        problems.append(f"--user {user}: no such user on this machine")
    try:
        calendar.check(schedule)
    except calendar.CalendarError as error:
        problems.append(f"--schedule {schedule!r}: not a systemd calendar event: {error}")
    return problems


def inventory_hosts(inventory: str) -> list[dict[str, Any]]:
    """pyinfra's hosts of `inventory`, loaded as pyinfra loads it; UsageError in its words."""
    try:
        return fleet.inventory_hosts(inventory)
    except fleet.InventoryError as error:
        raise UsageError([str(error)]) from None


def limited(hosts: list[dict[str, Any]], limit: list[str]) -> list[dict[str, Any]]:
    """The hosts within --limit, matched as pyinfra matches them (a group's name, else a glob
    of host names); UsageError with pyinfra's own words for each pattern that matches none."""
    if not limit:
        return hosts
    matched, unmatched = set(), []
    for pattern in limit:
        names = {h["name"] for h in hosts if pattern in h["groups"]} or {
            h["name"] for h in hosts if fnmatch(h["name"], pattern)
        }
        if not names:
            unmatched.append(f"No host matches found for --limit pattern: {pattern}")
        matched |= names
    if unmatched:
        raise UsageError(unmatched)
    return [host for host in hosts if host["name"] in matched]


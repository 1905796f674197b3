"""`agenthost backups INVENTORY [--limit HOST]`: each host's backups, without logging in.

What a deploy replaced or removed is under /var/backups/agenthost/<UTC run stamp>/<path>, and a
file a run created has an `<path>.absent` marker there (a restore removes it); `created` lists
the files agenthost created. This lists them per host and stamp, oldest first, read over the
inventory's own connections as `agenthost drift` reads hosts: names only, never a content (some
are secrets), and nothing on the host changes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from agenthost import drift_checks
from agenthost.fleet import InventoryError, inventory_command, read_on_hosts
from agenthost.paths import BACKUP_DIR
from agenthost.report import EXIT_UNCHECKED, EXIT_USAGE

# A first line always (pyinfra gives None for no output: that is a host not read), then one a
# file: `STAMP/PATH` of each copy and marker, and `created PATH` of each file agenthost created.
LIST = (
    f"echo '# {BACKUP_DIR}'; cd {BACKUP_DIR} 2>/dev/null || exit 0;"
    " find . -mindepth 2 -type f | sed 's|^\\./||' | sort;"
    " sed 's/^/created /' created 2>/dev/null; true"
)


def host_lines(name: str, listing: str) -> list[str]:
    """What is said of one host: its stamps, oldest first, with the files of each."""
    stamps: dict[str, list[str]] = {}
    created = []
    for line in listing.splitlines():
        if line.startswith("created "):
            created.append(line.removeprefix("created "))
        elif "/" in line and not line.startswith("#"):
            stamp, path = line.split("/", 1)
            absent = path.endswith(".absent")
            path = f"/{path.removesuffix('.absent')}"
            stamps.setdefault(stamp, []).append(f"{path} (none before)" if absent else path)
    if not stamps:
        return [f"{name}: no backups in {BACKUP_DIR}"]
    lines = [f"{name}: {len(stamps)} run(s) with backups in {BACKUP_DIR}/<stamp>:"]
    for stamp in sorted(stamps):
        lines += [f"  {stamp}  {path}" for path in stamps[stamp]]
    if created:
        lines.append(f"  created by agenthost ({BACKUP_DIR}/created): {', '.join(created)}")
    return lines


def listed(names: Iterable[str], listings: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """Lines for every host in `names`, and those that could not be read."""
    lines, unread = [], []
    for name in names:
        if listings.get(name) is None:
            unread.append(name)
            continue
        lines += host_lines(name, listings[name])
    return lines, unread


def _run(args: argparse.Namespace) -> int:
    try:
        hosts = drift_checks.limited(drift_checks.inventory_hosts(args.inventory), args.limit)
    except drift_checks.UsageError as error:
        print(*(f"agenthost backups: {p}" for p in error.problems), sep="\n", file=sys.stderr)
        return EXIT_USAGE
    try:
        listings = read_on_hosts(args.inventory, LIST, args.limit)
    except InventoryError as error:
        print(f"agenthost backups: {error}", file=sys.stderr)
        return EXIT_UNCHECKED
    lines, unread = listed([host["name"] for host in hosts], listings)
    print(*lines, sep="\n")
    if unread:
        print(f"agenthost backups: not read from {', '.join(unread)}", file=sys.stderr)
        return EXIT_UNCHECKED
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = inventory_command(subparsers, "backups", "list each host's backups (read-only)",
                               __doc__, _run)  # fmt: skip
    parser.add_argument("--limit", action="append", default=[], metavar="HOST",
                        help="only these hosts or groups (repeatable), as pyinfra's --limit")

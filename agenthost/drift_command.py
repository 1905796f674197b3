"""The `agenthost drift` command line: options, their checks, and the reports it writes.

The check itself is agenthost.drift; the options that `agenthost status` shares (--limit,
--shard, --json) are added and checked here once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path
from typing import Any

from agenthost import drift, drift_checks, fleet, metrics, report, shard
from agenthost.drift import UNITS_STATE_DIR, DriftError


def add_fleet_options(parser: argparse.ArgumentParser) -> None:
    """The inventory and which of its hosts: as drift reads them, so status reads them."""
    parser.add_argument("inventory", help="pyinfra inventory file, as for a deploy")
    parser.add_argument(
        "--limit", action="append", default=[], metavar="HOST",
        help="check only this host or group (repeat for more), as pyinfra's --limit",
    )  # fmt: skip
    parser.add_argument(
        "--shard", metavar="K/N",
        help="only shard K of N: a stable share of the hosts (each host always in the same "
             "shard), for N controllers or parallel Jenkins branches",
    )  # fmt: skip
    parser.add_argument("--json", dest="json_file", metavar="FILE", help="write the report as JSON")


def fleet_hosts(args: argparse.Namespace, reports: dict[str, str | None]) -> tuple[list, list]:
    """(problems, names of the hosts within --limit and --shard): every mistake at once."""
    problems = drift_checks.report_paths(reports)
    hosts: list[dict[str, Any]] = []
    try:
        hosts = drift_checks.limited(drift_checks.inventory_hosts(args.inventory), args.limit)
    except drift_checks.UsageError as error:
        problems += error.problems
    if args.shard:
        try:
            names = shard.select([h["name"] for h in hosts], shard.parse(args.shard))
            hosts = [h for h in hosts if h["name"] in names]
        except shard.ShardError as error:
            problems.append(str(error))
    return problems, hosts


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drift", help="report hosts that are no longer what the inventory says (changes nothing)",
        description=drift.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_fleet_options(parser)
    parser.add_argument(
        "--junit", metavar="FILE", help="write JUnit XML: a testcase per host and item"
    )
    parser.add_argument(
        "--prometheus", metavar="FILE",
        help="write node_exporter's textfile format (e.g. into its --collector.textfile.directory)",
    )  # fmt: skip
    parser.add_argument(
        "--write-units", metavar="DIR",
        help="instead of checking, write agenthost-drift.service and .timer into DIR (e.g. "
             f"/etc/systemd/system): they run this check with reports in {UNITS_STATE_DIR}",
    )  # fmt: skip
    parser.add_argument(
        "--schedule", default=drift.UNITS_SCHEDULE,
        help="the timer's OnCalendar (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--user", default=getpass.getuser(),
        help="user the units run the check as: whose SSH keys reach the hosts (%(default)s)",
    )  # fmt: skip
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        hosts = _usage_checked(args)
    except drift_checks.UsageError as error:
        print(*(f"agenthost drift: {p}" for p in error.problems), sep="\n", file=sys.stderr)
        return report.EXIT_USAGE
    if args.write_units:
        return _write_units(args)
    errors = fleet.settings_errors(hosts, Path("group_data"))
    if errors:
        print("agenthost drift: invalid settings, no host was checked:", *errors, sep="\n",
              file=sys.stderr)  # fmt: skip
        return report.EXIT_UNCHECKED
    started, clock = time.time(), time.monotonic()
    try:
        reports = _check(args, hosts)
    except DriftError as error:
        print(f"agenthost drift: {error}", file=sys.stderr)
        return report.EXIT_UNCHECKED
    _write_reports(args, reports, started, time.monotonic() - clock)
    return report.exit_code(reports)


def _check(args: argparse.Namespace, hosts: list[dict[str, Any]]) -> list[report.HostReport]:
    """Each host's report, printed as it comes; a shard with no host checks none."""
    if args.shard and not hosts:
        print(f"shard {args.shard}: no host of the inventory falls in it")
        return []
    limit = [h["name"] for h in hosts] if args.shard else args.limit
    return drift.check(
        args.inventory, limit, lambda r: print(report.table([r]), end="", flush=True),
        hosts=[h["name"] for h in hosts],
    )


def _write_reports(args: argparse.Namespace, reports: list[report.HostReport], started: float,
                   duration: float) -> None:  # fmt: skip
    if args.json_file:
        Path(args.json_file).write_text(report.to_json(reports))
    if args.junit:
        Path(args.junit).write_text(report.junit(reports))
    if args.prometheus:
        metrics.write(args.prometheus, reports, args.shard or "1/1", started, duration)


def _write_units(args: argparse.Namespace) -> int:
    for name, content in drift.units(args.inventory, args.schedule, args.user, Path.cwd()).items():
        path = Path(args.write_units) / name
        path.write_text(content)
        print(f"wrote {path}")
    print("then: systemctl daemon-reload && systemctl enable --now agenthost-drift.timer")
    return 0


def _usage_checked(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The hosts within --limit and --shard, once every option is seen to work; else
    UsageError naming every mistake (the inventory is read, no host is)."""
    problems, hosts = fleet_hosts(
        args, {"--json": args.json_file, "--junit": args.junit, "--prometheus": args.prometheus}
    )
    if args.write_units:
        problems += drift_checks.units_options(args.write_units, args.user, args.schedule)
    if problems:
        raise drift_checks.UsageError(problems)
    return hosts

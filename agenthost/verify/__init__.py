"""`agenthost verify INVENTORY`: the testinfra suite, shipped, run against an inventory's hosts.

The suite (test_agent_host.py, with its hosts and fixtures in plugin.py) compares each host with
agenthost.desired, the description the deploy applies. It runs from an installed wheel as from
a clone; pytest's and testinfra's own options pass through (`--ssh-config`, `--sudo`, `-k`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).parent


def pytest_args(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The pytest command line for `agenthost verify`'s arguments."""
    command = [str(HERE), "-p", "agenthost.verify.plugin", "-p", "no:cacheprovider",
               "-W", "ignore::pytest.PytestAssertRewriteWarning",
               "--rootdir", str(HERE), "--inventory", args.inventory]  # fmt: skip
    for pattern in args.limit or []:
        command += ["--limit", pattern]
    if args.junit:
        command += ["--junitxml", str(args.junit)]
    return [*command, *extra]


def _run(args: argparse.Namespace) -> int:
    import pytest  # only this command needs it

    return int(pytest.main(pytest_args(args, args.extra)))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check the inventory's hosts with the testinfra suite (read-only)",
        description=__doc__.splitlines()[0],
    )  # fmt: skip
    parser.add_argument("inventory", help="pyinfra inventory file")
    parser.add_argument("--limit", action="append", metavar="HOST",
                        help="only these hosts (names, groups or globs, as pyinfra's --limit)")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit report")
    parser.set_defaults(func=_run, extra=[])

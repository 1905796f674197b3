"""`agenthost drift INVENTORY`: is every host still what the inventory says? Changes nothing.

Two looks at each host, side by side:
- the deploy's own plan: `pyinfra --dry --json INVENTORY deploy.py`, counting only real changes
  (`hosts_with_change`), not those that follow from others through `_if` (restarts, reloads);
- the live checks of agenthost.checks (the testinfra suite in tests/host runs the same ones).

Exit 0: no drift; 2: drift; 1: a host could not be checked (it is named; this wins over 2).
"""

from __future__ import annotations

import argparse
import getpass
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pyinfra.api.exceptions import PyinfraError

from agenthost import checks, fleet, remote, report
from agenthost.checks import Item
from agenthost.report import HostReport
from agenthost.settings import redact
from agenthost.templating import render

# A last operation every host reports as a change in the dry run (which runs nothing): it tells
# which hosts pyinfra reached and planned, which its JSON does not say for hosts without changes.
PLANNED = "agenthost drift: host planned"
PLANNED_DEPLOY = f"""from pyinfra.operations import server

server.shell(name={PLANNED!r}, commands=["true"])
"""
NO_CHANGE = "no change"
PARALLEL = 8
UNITS_SCHEDULE = "*-*-* 03:00:00"
UNITS_STATE_DIR = "/var/lib/agenthost-drift"


# --- the plan -------------------------------------------------------------------------------


def plan_changes(plan: list[dict[str, Any]]) -> tuple[set[str], dict[str, list[str]]]:
    """The hosts pyinfra planned, and by host the operations that would really change it."""
    planned: set[str] = set()
    changes: dict[str, list[str]] = {}
    for op in plan:
        if op["name"] == PLANNED:
            planned = set(op["hosts_with_change"])
            continue
        for host in op["hosts_with_change"]:
            changes.setdefault(host, []).append(redact(op["name"]))
    return planned, changes


def plan_items(changes: list[str]) -> list[Item]:
    """An item per operation that would change the host, or one passing item for the plan."""
    if not changes:
        return [Item("pyinfra dry run", NO_CHANGE, NO_CHANGE)]
    return [Item(f"pyinfra: {name}", NO_CHANGE, "would change") for name in changes]


def pyinfra_said(stderr: str, host: str) -> str:
    """What pyinfra's output says about `host`, else its last line: why it was not planned."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    about = [line.replace(f"[{host}]", "").strip() for line in lines if f"[{host}]" in line]
    return redact(" ".join(about[-3:]) or (lines[-1] if lines else "no output"))


def failure(error: Exception, host: str) -> str:
    """Why a host's live checks failed, in one redacted line without its name."""
    if isinstance(error, remote.RemoteError):
        return redact(str(error).removeprefix(f"{host}: "))
    said = " ".join(str(error).split())
    return redact(f"{type(error).__name__}: {said}" if said else type(error).__name__)


def dry_run(inventory: str, repo: Path = fleet.REPO) -> tuple[set[str], dict[str, list[str]], str]:
    """(planned hosts, changes by host, pyinfra's stderr) of a dry run of the deploy."""
    with tempfile.TemporaryDirectory(prefix="agenthost-drift-") as tmp:
        planned_deploy = Path(tmp) / "planned.py"
        planned_deploy.write_text(PLANNED_DEPLOY)
        process = subprocess.run(
            [fleet.PYINFRA, "--dry", "--json", str(Path(inventory).resolve()), "deploy.py",
             str(planned_deploy)],
            cwd=repo, capture_output=True, text=True,
        )  # fmt: skip
    try:
        plan = json.loads(process.stdout)["plan"]
    except (ValueError, KeyError, TypeError):
        return set(), {}, process.stderr
    return (*plan_changes(plan), process.stderr)


# --- the live checks ------------------------------------------------------------------------


def live_items(host: fleet.FleetHost) -> list[Item]:
    if host.target is None:
        raise remote.RemoteError(host.problem)
    with remote.connect(host.target) as (testinfra_host, client):
        return checks.run_all(checks.Probe(host.settings, testinfra_host, client))


def check(inventory: str, repo: Path = fleet.REPO) -> list[HostReport]:
    """A report per host of the inventory; the dry run and the live checks run side by side."""
    hosts = fleet.load(inventory, repo)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        plan = pool.submit(dry_run, inventory, repo)
        live = {host.name: pool.submit(live_items, host) for host in hosts}
        planned, changes, stderr = plan.result()
        reports = []
        for host in hosts:
            items, errors = [], []
            if host.name in planned:
                items += plan_items(changes.get(host.name, []))
            else:
                errors.append(f"pyinfra could not plan it: {pyinfra_said(stderr, host.name)}")
            try:
                items += live[host.name].result()
            except Exception as error:  # noqa: BLE001 - any failure leaves this host unchecked
                errors.append(failure(error, host.name))
            reports.append(HostReport(host.name, tuple(items), "; ".join(errors) or None))
    return reports


# --- systemd units for fleets without Jenkins -----------------------------------------------


def units(inventory: str, schedule: str, user: str, repo: Path = fleet.REPO) -> dict[str, str]:
    """agenthost-drift.service and .timer running this check, by file name."""
    command = [
        sys.executable,
        "-m",
        "agenthost",
        "drift",
        str(Path(inventory).resolve()),
        "--json",
        f"{UNITS_STATE_DIR}/drift.json",
        "--junit",
        f"{UNITS_STATE_DIR}/drift.xml",
    ]
    return {
        "agenthost-drift.service": render(
            "agenthost-drift.service.j2",
            command=[arg.replace("%", "%%") for arg in command],  # systemd expands % specifiers
            repo=str(repo),
            user=user,
            state_dir=Path(UNITS_STATE_DIR).name,
        ),
        "agenthost-drift.timer": render("agenthost-drift.timer.j2", schedule=schedule),
    }


# --- command line ---------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drift", help="report hosts that are no longer what the inventory says (changes nothing)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("inventory", help="pyinfra inventory file, as for a deploy")
    parser.add_argument("--json", dest="json_file", metavar="FILE", help="write the report as JSON")
    parser.add_argument(
        "--junit", metavar="FILE", help="write JUnit XML: a testcase per host and item"
    )
    parser.add_argument(
        "--write-units", metavar="DIR",
        help="instead of checking, write agenthost-drift.service and .timer into DIR (e.g. "
             f"/etc/systemd/system): they run this check with reports in {UNITS_STATE_DIR}",
    )  # fmt: skip
    parser.add_argument(
        "--schedule", default=UNITS_SCHEDULE, help="the timer's OnCalendar (default: %(default)s)"
    )
    parser.add_argument(
        "--user", default=getpass.getuser(),
        help="user the units run the check as: whose SSH keys reach the hosts (%(default)s)",
    )  # fmt: skip
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.write_units:
        for name, content in units(args.inventory, args.schedule, args.user).items():
            path = Path(args.write_units) / name
            path.write_text(content)
            print(f"wrote {path}")
        print("then: systemctl daemon-reload && systemctl enable --now agenthost-drift.timer")
        return 0
    try:
        reports = check(args.inventory)
    except (fleet.InventoryError, PyinfraError) as error:  # no host could be checked
        print(f"agenthost drift: {redact(str(error))}", file=sys.stderr)
        return report.EXIT_UNCHECKED
    print(report.table(reports), end="")
    if args.json_file:
        Path(args.json_file).write_text(report.to_json(reports))
    if args.junit:
        Path(args.junit).write_text(report.junit(reports))
    return report.exit_code(reports)

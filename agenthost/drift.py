"""`agenthost drift INVENTORY`: is every host still what the inventory says? Changes nothing.

The check is the deploy itself, planned and never run: `pyinfra --dry INVENTORY` with the whole
agent host (agenthost/drift_plan.py). Every operation compares what it finds on the host, files,
users, units, the live daemon and the agent containers, with what the settings want, so drift and
deploy cannot disagree, and drift reaches every host the deploy reaches, through pyinfra's own
connectors, authentication and privilege settings. An operation that would change a host is a
drifted item; conditional ones (restarts, reloads that follow another change) are not counted.

Each drifted item says what differs, expected against actual (agenthost/explain.py): a clean
host costs no extra command, a drifted one at most one (its files' diffs and the live daemon's
options). It needs no secrets or tarballs on the machine that runs it: what only they could tell
is reported as not checked. Each host's result is printed as soon as it is known. `--shard K/N`
checks a stable share of the hosts; `--prometheus FILE` writes node_exporter's textfile format.

Exit 0: no drift; 2: drift; 1: a host could not be checked (it is named; this wins over 2), or
invalid settings (each named, with the file it came from); 64: a usage error: an option, the
inventory or a --limit that cannot work (agenthost/drift_checks.py), found before any host is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agenthost import explain, report
from agenthost.engine import installed_engine
from agenthost.hostdata import DRIFT_REPORT_FD as REPORT_FD
from agenthost.paths import RUN_LOCK
from agenthost.report import NOT_CHECKED, HostReport, Item
from agenthost.settings import redact
from agenthost.templating import render

PLAN = Path(__file__).with_name("drift_plan.py")
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
UNITS_SCHEDULE = "*-*-* 03:00:00"
UNITS_STATE_DIR = "/var/lib/agenthost-drift"


class DriftError(RuntimeError):
    """No host could be checked; the message is pyinfra's, redacted."""


# --- inside pyinfra: one host's plan --------------------------------------------------------

_inventory_sent = False


def planned_operations(state, host) -> list[tuple[str, bool, list[explain.Difference]]]:
    """(name, would change, what differs) of each operation planned for `host`, in order, but
    the conditional ones (a restart that follows a change is not drift of its own)."""
    planned = []
    for op_hash, data in state.ops[host].items():  # in pyinfra's context of `host`, planned
        if not data.global_arguments.get("_if"):
            name = redact(", ".join(sorted(state.op_meta[op_hash].names)))
            changes = data.operation_meta.will_change
            found = explain.recorded(host.name, op_hash) if changes else []
            planned.append((name, changes, found))
    return planned


def with_contents(host, planned: list) -> list:
    """`planned` with the diff of every drifted file and the live daemon's differing options,
    read in one command: the one extra read a drifted host costs (none when it needs neither)."""
    from pyinfra.facts.server import Command

    sections = explain.pending_reads([d for _, _, found in planned for d in found])
    if not sections:
        return planned
    mark = f"--agenthost-file-{uuid.uuid4().hex}--"
    output = host.get_fact(Command, explain.read_command(sections, mark)) or ""
    contents = explain.split_contents(output, mark)
    return [(n, c, explain.with_diffs(found, contents)) for n, c, found in planned]


def report_planned(state, host) -> None:
    """Send `host`'s planned operations and what differs to `agenthost drift`."""
    from agenthost.operations.plan import not_checked_on, packages_seen_on

    planned = with_contents(host, planned_operations(state, host))
    record: dict[str, Any] = {
        "host": host.name,
        "operations": [(n, c, [d.public() for d in found]) for n, c, found in planned],
        "not_checked": not_checked_on(host.name),
        "engine": installed_engine(packages_seen_on(host.name)),
    }
    send(state, record)


def send(state, record: dict[str, Any]) -> None:
    """Write a host's record, one JSON line, to the descriptor the agenthost command reads."""
    global _inventory_sent
    if not _inventory_sent:  # the first host tells which hosts there are to wait for
        record["inventory"] = [h.name for h in (state.limit_hosts or state.inventory)]
        _inventory_sent = True
    os.write(int(os.environ[REPORT_FD]), (json.dumps(record) + "\n").encode())


# --- outside: the report --------------------------------------------------------------------


def host_report(record: dict[str, Any]) -> HostReport:
    """A host's items: one per operation, drifted where it would change (with what differs,
    when the operation said), and what was not checked."""
    items = []
    for name, changes, *found in record["operations"]:
        differences = [explain.Difference(**d) for d in (found[0] if found else [])]
        items.append(report.item(name, changes, differences))
    items += [Item(what, "as configured", NOT_CHECKED) for what in record["not_checked"]]
    engine = record.get("engine")
    return HostReport(record["host"], tuple(items), engine=tuple(engine) if engine else None)


def pyinfra_said(output: str, host: str) -> str:
    """What pyinfra's output says about `host`, else its last line: why it was not planned."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    about = [line.replace(f"[{host}]", "").strip() for line in lines if f"[{host}]" in line]
    # Else pyinfra's error, whole: it may name a host and a setting a line.
    error = next((i for i, line in enumerate(lines) if line.startswith("--> ")
                  and "error" in line.lower()), None)  # fmt: skip
    if not about and error is not None:
        return redact("\n".join(lines[error:]))
    return redact(" ".join(about[-3:]) or (lines[-1] if lines else "no output"))


def relay_waits(stream: Iterable[str], output: list[str]) -> None:
    """pyinfra's output, kept for the errors; a wait for another run's lock (up to 10 minutes)
    is said at once on stderr, so the check is not silent meanwhile."""
    for line in stream:
        output.append(line)
        if f"holds {RUN_LOCK}" in line:
            print(line.strip(), file=sys.stderr, flush=True)


def plan_command(inventory: str, limit: list[str], plan: Path = PLAN) -> list[str]:
    limits = [arg for name in limit for arg in ("--limit", name)]
    # Not -y: with it, pyinfra skips the change detection this check is made of.
    return [PYINFRA, "--dry", *limits, inventory, str(plan)]


def unreachable(name: str, why: str) -> HostReport:
    return HostReport(name, error=why)


def check(
    inventory: str, limit: list[str] = (), on_report: Callable[[Any], None] = print,
    plan: Path = PLAN, make: Callable[[dict], Any] = host_report,
    down: Callable[[str, str], Any] = unreachable, hosts: list[str] | None = None,
) -> list:
    """A report per host (`make` of its record, `down` of a host pyinfra could not plan), each
    handed to `on_report` as soon as pyinfra has planned it. `plan` is the deploy file pyinfra
    runs with --dry, which `send`s each host's record. With `hosts` (the names pyinfra is to
    plan), a run that reached none names each with its reason instead of raising DriftError."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        plan_command(inventory, list(limit), plan), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, pass_fds=(write_fd,),
        env={**os.environ, REPORT_FD: str(write_fd)},
    )  # fmt: skip
    os.close(write_fd)
    # pyinfra asks whether to go on when a host failed to connect: yes (that host is reported),
    # and --dry then stops before anything runs.
    process.stdin.write("\n" * 3)
    process.stdin.close()
    output: list[str] = []
    reader = threading.Thread(target=relay_waits, args=(process.stdout, output), daemon=True)
    reader.start()
    reports, expected = {}, None
    with os.fdopen(read_fd) as records:
        for line in records:
            record = json.loads(line)
            expected = expected or record.get("inventory")
            reports[record["host"]] = make(record)
            on_report(reports[record["host"]])
    process.wait()
    reader.join()
    said = "".join(output)
    expected = expected or hosts
    if expected is None:
        raise DriftError(f"no host could be checked: {pyinfra_said(said, '')}")
    for name in expected:
        if name not in reports:
            reports[name] = down(name, pyinfra_said(said, name))
            on_report(reports[name])
    return [reports[name] for name in expected]


# --- systemd units for fleets without Jenkins -----------------------------------------------


def units(inventory: str, schedule: str, user: str, directory: Path) -> dict[str, str]:
    """agenthost-drift.service and .timer running this check from `directory`, by file name."""
    command = [
        sys.executable, "-m", "agenthost", "drift", str(Path(inventory).resolve()),
        "--json", f"{UNITS_STATE_DIR}/drift.json", "--junit", f"{UNITS_STATE_DIR}/drift.xml",
    ]  # fmt: skip
    return {
        "agenthost-drift.service": render(
            "agenthost-drift.service.j2",
            command=[arg.replace("%", "%%") for arg in command],  # systemd expands % specifiers
            repo=str(directory),
            user=user,
            state_dir=Path(UNITS_STATE_DIR).name,
        ),
        "agenthost-drift.timer": render("agenthost-drift.timer.j2", schedule=schedule),
    }

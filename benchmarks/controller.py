"""What the controller pays per host: CPU time and peak memory of the SSH floor, the no-op deploy
and the drift check, on the first 1, 5, 10, 20 and 40 hosts of one set of converged rehearsal
hosts; fitted per host, projected to 1,000 hosts, with the shard count that checks them in
10 minutes on a 4-core node. Measured, never asserted in a test: run it by hand.

    .venv/bin/pip install -e '.[bench]'        # matplotlib, for the chart
    .venv/bin/agenthost rehearsal up --hosts 40 --set bench
    AGENTHOST_REHEARSAL_SET=bench .venv/bin/pyinfra -y inventory/rehearsal.py deploy.py
    .venv/bin/python benchmarks/controller.py --set bench --runs 5

Each command is one child process, timed by os.wait4: its user and system CPU seconds and its
peak resident memory, its own children included (the drift check's pyinfra). The floor is
`pyinfra INV exec -- true`: the same start, inventory and SSH connection as the other two, and
one command per host, which is the least any run reaching a host does. The no-op must change no
operation and the drift check must exit 0 (no drift), or the run stops. With --lock, each size's
runs hold that file's flock (a lock that machines shared by several people take for such runs).
Writes results/controller-<time>.json and .png; the hosts are left as they were.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from controller_report import render_tables, write_chart
from fit import median_row, summarise
from run import COMMANDS, REPO, RESULTS, changed_operations, machine, set_env

from agenthost_lab import cli, state

KINDS = tuple(COMMANDS)  # floor, noop, drift
NO_DRIFT = 0  # agenthost drift's exit status when every host is as the deploy would leave it


def measured(command: list[str], env: dict[str, str]) -> tuple[dict, int, str]:
    """One run of `command`: its wall and CPU seconds and peak memory, its exit status, its
    output. Output goes to a file, so that the wait is the process's own (os.wait4)."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        said = output.read()
    taken = {"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
             "user_s": round(usage.ru_utime, 3), "sys_s": round(usage.ru_stime, 3),
             "maxrss_mib": round(usage.ru_maxrss / 1024, 1)}  # Linux: KiB  # fmt: skip
    return taken, process.returncode, said


def run_once(kind: str, set_name: str) -> dict:
    """One measured run of COMMANDS[kind]; RuntimeError unless it left every host unchanged."""
    taken, status, said = measured(COMMANDS[kind], set_env(set_name))
    tail = "\n".join(said.splitlines()[-30:])
    if kind == "drift" and status != NO_DRIFT:
        raise RuntimeError(f"the drift check exited {status}, not {NO_DRIFT}:\n{tail}")
    if status:
        raise RuntimeError(f"{' '.join(COMMANDS[kind])} exited {status}:\n{tail}")
    if kind == "noop" and changed_operations(said):
        changed = [line.strip() for line in said.splitlines() if re.search(r"\s\d+\s+\d+\s", line)]
        raise RuntimeError("the no-op changed operations:\n" + "\n".join(changed[:20]))
    return taken


@contextmanager
def held(lock: Path):
    """The file's exclusive flock, waited for."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def measure_size(set_name: str, count: int, runs: int, lock: Path | None) -> dict:
    """The set's first `count` hosts as a set of their own; one untimed round, then `runs`
    rounds of the commands in turn, so that a change in the machine's load touches each alike."""
    hosts = state.load_hosts(set_name)[:count]
    subset = f"{set_name}-first{count}"
    state.write_state(subset, hosts)
    try:
        with held(lock) if lock else nullcontext():
            for kind in KINDS:
                run_once(kind, subset)
            taken: dict[str, list[dict]] = {kind: [] for kind in KINDS}
            for _ in range(runs):
                for kind in KINDS:
                    taken[kind].append(run_once(kind, subset))
    finally:
        shutil.rmtree(state.state_dir(subset), ignore_errors=True)
    return median_row(count, taken)


def _commit() -> str:
    """The checkout measured, "+" when it has changes not committed."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                          capture_output=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           text=True, capture_output=True).stdout.strip()  # fmt: skip
    return head + ("+" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="bench", type=cli.parse_set_name,
                        help="a set of converged hosts (default: %(default)s)")
    parser.add_argument("--hosts", default="1,5,10,20,40",
                        help="numbers of hosts, comma-separated (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="runs per median (default: 5)")
    parser.add_argument("--fleet", type=int, default=1000, help="hosts to project to")
    parser.add_argument("--minutes", type=float, default=10, help="time a fleet's check may take")
    parser.add_argument("--cores", type=int, default=4, help="cores of the node that checks it")
    parser.add_argument("--lock", type=Path, help="flock held around each size's runs")
    parser.add_argument("--note", default="", help="said with the results, e.g. other load")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.hosts.split(","))
    available = len(state.load_hosts(args.set))
    if sizes[-1] > available:
        sys.exit(f"set {args.set!r} has {available} host(s), fewer than {sizes[-1]}")
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
              "runs": args.runs, "commands": {k: " ".join(c[1:]) for k, c in COMMANDS.items()},
              "commit": _commit(), "note": args.note, "rows": []}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"controller-{result['date'][:16].replace(':', '')}"
    for count in sizes:
        print(f"{count} host(s)", flush=True)
        result["rows"].append(measure_size(args.set, count, args.runs, args.lock))
        # After each size, so that an interrupted run keeps what it measured.
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    result["fit"] = summarise(result["rows"], KINDS, args.fleet, args.minutes * 60, args.cores)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_chart(result, stem.with_suffix(".png"))
    print(render_tables(result))
    print(f"\nwritten: {stem}.json, {stem}.png")


if __name__ == "__main__":
    main()

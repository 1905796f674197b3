"""What a deploy costs against the bare SSH round trip, on 1 to 20 rehearsal hosts, with and
without a slow network. Measured, never asserted: run it by hand.

    .venv/bin/pip install -e '.[bench]'        # matplotlib, for the chart
    .venv/bin/python benchmarks/run.py --hosts 1,5,10,20 --runs 3

For each number of hosts, on fresh hosts of one set: the first converge, then the median of
--runs runs of the SSH floor (`pyinfra INV exec -- true`), the no-op deploy and the drift check
(`agenthost drift INV`), directly and through the latency relay (`agenthost rehearsal relay`,
--delay-ms each way), in turn, after one untimed round; then the first converge through the
relay on fresh hosts again. Also, once, the commands a no-op runs per host and the facts they
read (`pyinfra -vvv`), and the five slowest steps of each first converge. Each timed run also
reads the CPU time it cost: on the controller (the command's process, with its children)
and on the hosts (their cgroups: sshd, the shells, systemd and dockerd), and the CPU time the
hypervisor took from the machine meanwhile. Prints two tables and
writes results/bench-<time>.json and .png (benchmarks/report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyinfra
from cgroup import host_memory_mib, hosts_cpu_s, set_containers
from report import render_cpu_table, render_table, write_chart

from agenthost import planning
from agenthost_lab import cli, rehearsal, state

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent
INVENTORY = "inventory/rehearsal.py"


def set_env(set_name: str) -> dict[str, str]:
    """The environment that points inventory/rehearsal.py at the set."""
    return {**os.environ, "AGENTHOST_REHEARSAL_SET": set_name}


def timed(command: list[str], set_name: str, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Seconds `command` took against the set's inventory, and its output."""
    env = set_env(set_name)
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode not in ok:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{tail}")
    return elapsed, result.stdout + result.stderr


def changed_operations(output: str) -> int:
    """The Success column of pyinfra's Grand total: operations that changed something."""
    match = re.search(r"Grand total\s+\d+\s+(\S+)", output)
    return 0 if not match or match.group(1) == "-" else int(match.group(1))


COMMANDS = {
    "floor": [str(BIN / "pyinfra"), "-y", INVENTORY, "exec", "--", "true"],
    "noop": [str(BIN / "pyinfra"), "-y", INVENTORY, "deploy.py"],
    "drift": [str(BIN / "agenthost"), "drift", INVENTORY],
}


def controller_cpu_s() -> float:
    """CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stolen_cpu_s() -> float:
    """CPU seconds, all cores, that this virtual machine's hypervisor gave to others since boot
    (steal in /proc/stat): a run that others slowed down shows it."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def run_once(kind: str, set_name: str, hosts: list[str]) -> tuple[float, float, float, float]:
    """Seconds of one run of COMMANDS[kind], the CPU seconds it cost on the controller and on
    `hosts` (container ids; the hosts' idle work, a few ms a second each, counts too), and the
    CPU seconds stolen from the machine meanwhile."""
    controller, on_hosts, stolen = controller_cpu_s(), hosts_cpu_s(hosts), stolen_cpu_s()
    seconds, output = timed(COMMANDS[kind], set_name)
    if kind == "noop" and changed_operations(output):
        raise RuntimeError(f"the no-op changed {changed_operations(output)} operation(s)")
    return (seconds, controller_cpu_s() - controller, hosts_cpu_s(hosts) - on_hosts,
            stolen_cpu_s() - stolen)  # fmt: skip


def medians(sets: dict[str, str], hosts: list[str], runs: int) -> dict:
    """Median seconds, and CPU seconds, of each of COMMANDS on each of `sets` (column suffix ->
    set; all on the hosts `hosts`): after one untimed round, so that every command meets settled
    hosts, `runs` rounds of all of them in turn, so that a change in the machine's load touches
    each alike."""
    order = [(kind, suffix, set_name) for kind in COMMANDS for suffix, set_name in sets.items()]
    for kind, _suffix, set_name in order:
        run_once(kind, set_name, hosts)
    taken: dict[str, list[tuple[float, ...]]] = {f"{k}{s}": [] for k, s, _ in order}
    for _ in range(runs):
        for kind, suffix, set_name in order:
            taken[f"{kind}{suffix}"].append(run_once(kind, set_name, hosts))
    return {column: _summary(values) for column, values in taken.items()}


def _summary(values: list[tuple[float, ...]]) -> dict:
    seconds, controller, on_hosts, stolen = zip(*values, strict=True)
    return {
        "median_s": round(statistics.median(seconds), 2),
        "runs_s": [round(t, 2) for t in seconds],
        "controller_cpu_s": round(statistics.median(controller), 2),
        "hosts_cpu_s": round(statistics.median(on_hosts), 2),
        "stolen_cpu_s": round(statistics.median(stolen), 2),
    }


def first_converge(set_name: str) -> dict:
    """Seconds of the deploy on fresh hosts, and of its slowest steps: pyinfra runs an operation
    on every host before it starts the next, so a step lasts from its start line to the next."""
    env = {**set_env(set_name), "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    steps: list[tuple[str, float]] = [("connect, read and plan", started)]
    with subprocess.Popen(COMMANDS["noop"], cwd=REPO, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as deploy:  # fmt: skip
        for line in deploy.stdout:
            if line.startswith("--> Starting operation: "):
                steps.append((line.split(": ", 1)[1].strip(), time.monotonic()))
    ended = time.monotonic()
    if deploy.returncode:
        raise RuntimeError(f"the first converge exited {deploy.returncode}")
    durations = Counter()
    for (name, at), (_, until) in zip(steps, [*steps[1:], ("end", ended)], strict=True):
        durations[name] += until - at
    slowest = {name: round(seconds, 1) for name, seconds in durations.most_common(5)}
    return {"seconds": round(ended - started, 2), "slowest_steps_s": slowest}


def noop_commands(set_name: str) -> dict:
    """Commands a no-op runs on each host and the facts they read, from `pyinfra -vvv`."""
    _, output = timed([*COMMANDS["noop"][:2], "-vvv", *COMMANDS["noop"][2:]], set_name)
    hosts = state.load_hosts(set_name)
    commands = Counter(line.split("]", 1)[0] for line in output.splitlines() if ">>>" in line)
    facts = Counter(
        re.sub(r"\x1b\[[0-9;]*m", "", line).split("Loaded fact ", 1)[1].split(" (")[0].strip()
        for line in output.splitlines()
        if "Loaded fact " in line
    )
    return {
        "per_host": round(sum(commands.values()) / len(hosts), 1),
        "facts_per_host": {name: n / len(hosts) for name, n in facts.most_common()},
    }


class Relay:
    """`agenthost rehearsal relay` for a set, while in the block: yields the delayed set."""

    def __init__(self, set_name: str, delay_ms: int):
        self.command = [str(BIN / "agenthost"), "rehearsal", "relay", "--set", set_name,
                        "--delay-ms", str(delay_ms)]  # fmt: skip

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            self.command, cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        name = self.process.stdout.readline().strip()
        if not name:
            raise RuntimeError("the relay did not start")
        return name

    def __exit__(self, *_exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def measure(set_name: str, count: int, args: argparse.Namespace) -> dict:
    row: dict = {"hosts": count}
    started = time.monotonic()
    rehearsal.up(set_name, {args.release: count})
    row["up_s"] = round(time.monotonic() - started, 2)
    row["memory_booted_mib"] = host_memory_mib(set_name)
    converge = first_converge(set_name)
    row["first_converge_s"] = converge["seconds"]
    row["first_converge_slowest_s"] = converge["slowest_steps_s"]
    row["memory_converged_mib"] = host_memory_mib(set_name)
    with Relay(set_name, args.delay_ms) as delayed:
        print(f"  {count} host(s): {', '.join(COMMANDS)}", flush=True)
        row.update(medians({"": set_name, "_delayed": delayed}, set_containers(set_name),
                           args.runs))
    if count == min(args.hosts):
        row["noop_commands"] = noop_commands(set_name)
    if args.delayed_converge:
        rehearsal.up(set_name, {args.release: count})
        with Relay(set_name, args.delay_ms) as delayed:
            row["first_converge_delayed_s"] = first_converge(delayed)["seconds"]
    return row


def machine() -> dict:
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            # what the runs planned with: deploy.py speeds pyinfra up only where it applies
            "pyinfra": pyinfra.__version__,
            "planning_speed_up": planning.why_not() or "applied"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", default="1,5,10,20",
                        help="numbers of hosts, comma-separated (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="runs per median (default: 3)")
    parser.add_argument("--delay-ms", type=int, default=25, help="added delay each way")
    parser.add_argument("--release", default="bookworm", choices=list(state.RELEASES))
    parser.add_argument("--set", default="bench", type=cli.parse_set_name)
    parser.add_argument("--no-delayed-converge", dest="delayed_converge", action="store_false",
                        help="skip the first converge through the relay (fresh hosts again)")
    parser.add_argument("--note", default="", help="said with the results, e.g. other load")
    args = parser.parse_args()
    args.hosts = sorted(int(n) for n in args.hosts.split(","))
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
              "runs": args.runs, "delay_ms_each_way": args.delay_ms, "release": args.release,
              "note": args.note, "rows": []}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"bench-{result['date'][:16].replace(':', '')}"
    try:
        for count in args.hosts:
            print(f"{count} host(s)", flush=True)
            result["rows"].append(measure(args.set, count, args))
            # After each size, so that an interrupted run keeps what it measured.
            stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        rehearsal.down(args.set)
    write_chart(result, stem.with_suffix(".png"))
    print(render_table(result))
    print(render_cpu_table(result))
    print(f"\nwritten: {stem}.json, {stem}.png")


if __name__ == "__main__":
    main()

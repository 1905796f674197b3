"""The controller's cost per host, from benchmarks/controller.py's measurements: a straight line
fitted to each command's CPU seconds and peak memory against hosts, its projection to a fleet,
the shard count that checks that fleet in time, and the issue's goals. Standard library only.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass

# The goals: each added host may cost the controller this many times what it costs the
# SSH floor (pyinfra reaching the host and running one command there).
GOALS = {"noop": 1.5, "drift": 2.0}


@dataclass(frozen=True)
class Line:
    """y = intercept + slope * hosts, least squares over (hosts, y) points."""

    slope: float
    intercept: float
    r2: float

    def at(self, hosts: float) -> float:
        return self.intercept + self.slope * hosts


def fit(points: list[tuple[float, float]]) -> Line:
    hosts, values = zip(*points, strict=True)
    slope, intercept = statistics.linear_regression(hosts, values)
    spread = len(set(values)) > 1
    r2 = statistics.correlation(hosts, values) ** 2 if spread else 1.0
    return Line(slope, intercept, r2)


def shards(cpu: Line, hosts: int, seconds: float, cores: int) -> dict | None:
    """The fewest shards N for which `hosts` hosts, split evenly, finish within `seconds` on a
    node of `cores` cores: each shard is one pyinfra process, which uses at most one core
    (gevent, one thread), so `cores` shards run at once and the rest wait their turn; each shard
    is taken to last its CPU time (CPU-bound: the round trips of its hosts overlap). None when no
    N does, because even one host's shard outlasts `seconds`."""
    for count in range(1, hosts + 1):
        per_shard = cpu.at(math.ceil(hosts / count))
        turns = math.ceil(count / cores)
        if turns * per_shard <= seconds:
            return {"shards": count, "hosts_per_shard": math.ceil(hosts / count),
                    "cpu_s_per_shard": round(per_shard, 1), "turns": turns,
                    "finishes_s": round(turns * per_shard, 1)}  # fmt: skip
    return None


def summarise(rows: list[dict], kinds: tuple[str, ...], hosts: int, seconds: float,
              cores: int) -> dict:
    """Per command: the fitted lines of median CPU seconds and peak MiB against hosts, their
    values at `hosts`, and the shards that finish `hosts` in `seconds` on `cores` cores; then
    each goal with its measured ratio of per-host CPU to the floor's."""
    summary: dict = {"fleet": {"hosts": hosts, "seconds": seconds, "cores": cores}}
    for kind in kinds:
        cpu = fit([(row["hosts"], row[kind]["cpu_s"]) for row in rows])
        memory = fit([(row["hosts"], row[kind]["maxrss_mib"]) for row in rows])
        summary[kind] = {
            "cpu_s": _rounded(asdict(cpu)), "maxrss_mib": _rounded(asdict(memory)),
            "cpu_s_per_host_ms": round(cpu.slope * 1000, 1),
            "maxrss_mib_per_host": round(memory.slope, 2),
            "projected": {"cpu_s": round(cpu.at(hosts), 1),
                          "maxrss_mib": round(memory.at(hosts))},
            "shards": shards(cpu, hosts, seconds, cores),
        }  # fmt: skip
    floor = summary["floor"]["cpu_s"]["slope"]
    summary["goals"] = {
        kind: {"at_most": limit, "ratio": round(summary[kind]["cpu_s"]["slope"] / floor, 1),
               "met": summary[kind]["cpu_s"]["slope"] <= limit * floor}
        for kind, limit in GOALS.items() if kind in kinds
    }  # fmt: skip
    return summary


def _rounded(values: dict) -> dict:
    return {key: round(value, 4) for key, value in values.items()}


def median_row(hosts: int, runs: dict[str, list[dict]]) -> dict:
    """A size's row: per command, the median of each measure over its runs, and the runs."""
    row: dict = {"hosts": hosts}
    for kind, taken in runs.items():
        row[kind] = {key: round(statistics.median(run[key] for run in taken), 3)
                     for key in taken[0]}  # fmt: skip
        row[kind]["runs"] = taken
    return row

"""The benchmark's tables (Markdown, as in the README's Speed section) and chart.

    .venv/bin/python benchmarks/report.py benchmarks/results/bench-XXXX.json   # tables again
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# (key in a row, label): medians of --runs runs, except the first converges (one run each).
SERIES = (
    ("floor", "SSH floor"),
    ("noop", "no-op deploy"),
    ("drift", "drift check"),
)


def _seconds(row: dict, key: str) -> float | None:
    value = row.get(key)
    return value["median_s"] if isinstance(value, dict) else value


def render_table(result: dict) -> str:
    delay = 2 * result["delay_ms_each_way"]
    head = ["hosts"]
    for where in ("", f" +{delay} ms RTT"):
        head += [f"floor{where}", f"no-op{where}", "×", f"drift{where}", "×"]
    head += ["first converge", f"first converge +{delay} ms", "MiB/host idle", "converged"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["rows"]:
        cells = [str(row["hosts"])]
        for suffix in ("", "_delayed"):
            floor = _seconds(row, f"floor{suffix}")
            noop, drift = _seconds(row, f"noop{suffix}"), _seconds(row, f"drift{suffix}")
            cells += [f"{floor:.1f} s", f"{noop:.1f} s", f"{noop / floor:.1f}",
                      f"{drift:.1f} s", f"{drift / floor:.1f}"]  # fmt: skip
        delayed_converge = row.get("first_converge_delayed_s")
        cells += [
            f"{row['first_converge_s']:.0f} s",
            f"{delayed_converge:.0f} s" if delayed_converge else "-",
            f"{row['memory_booted_mib']['per_host_median']:.0f}",
            f"{row['memory_converged_mib']['per_host_median']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_cpu_table(result: dict) -> str:
    """CPU seconds (medians, direct runs) on the controller and on all the hosts: on one machine
    both share its cores, so a run takes at least their sum over the cores. Then the CPU seconds
    the hypervisor took from the machine during the floor and the no-op."""
    rows = [row for row in result["rows"] if "controller_cpu_s" in row["floor"]]
    if not rows:  # measured before the benchmark read CPU time
        return ""
    head = ["hosts"]
    for _key, label in SERIES:
        head += [f"{label}: controller", "hosts"]
    stolen = all("stolen_cpu_s" in row["floor"] for row in rows)  # read since 2026-12-04
    head += ["stolen from the machine: floor", "no-op"] if stolen else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [str(row["hosts"])]
        for key, _label in SERIES:
            cells += [f"{row[key]['controller_cpu_s']:.2f} s", f"{row[key]['hosts_cpu_s']:.2f} s"]
        if stolen:
            cells += [f"{row[key]['stolen_cpu_s']:.2f} s" for key in ("floor", "noop")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_chart(result: dict, path: Path) -> None:
    """Seconds against hosts, one line per measurement, solid direct and dashed delayed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = result["rows"]
    hosts = [row["hosts"] for row in rows]
    figure, axes = pyplot.subplots(figsize=(8, 5))
    delay = 2 * result["delay_ms_each_way"]
    for (key, label), color in zip(SERIES, ("tab:gray", "tab:blue", "tab:orange"), strict=True):
        axes.plot(hosts, [_seconds(r, key) for r in rows], "o-", color=color, label=label)
        axes.plot(hosts, [_seconds(r, f"{key}_delayed") for r in rows], "o--", color=color,
                  label=f"{label}, +{delay} ms RTT")  # fmt: skip
    axes.set_xlabel("hosts")
    axes.set_ylabel(f"seconds (median of {result['runs']})")
    axes.set_xticks(hosts)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    axes.set_title(f"agenthost on {result['machine']['cpus']} cores, {result['date'][:10]}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


if __name__ == "__main__":
    loaded = json.loads(Path(sys.argv[1]).read_text())
    print(render_table(loaded))
    print(render_cpu_table(loaded))

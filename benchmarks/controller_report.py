"""benchmarks/controller.py's tables (Markdown, as in the README's Speed section) and chart.

    .venv/bin/python benchmarks/controller_report.py benchmarks/results/controller-XXXX.json [PNG]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LABELS = {"floor": "SSH floor", "noop": "no-op deploy", "drift": "drift check"}
COLORS = {"floor": "tab:gray", "noop": "tab:blue", "drift": "tab:orange"}


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(cells) + " |" for cells in rows)]  # fmt: skip


def render_tables(result: dict) -> str:
    """Medians per size (controller CPU seconds, peak MiB), then the fit, projection and goals."""
    kinds = [kind for kind in LABELS if kind in result["rows"][0]]
    head = ["hosts"] + [f"{LABELS[k]}: CPU" for k in kinds] + [f"{LABELS[k]}: peak" for k in kinds]
    sizes = [[str(row["hosts"])] + [f"{row[k]['cpu_s']:.2f} s" for k in kinds]
             + [f"{row[k]['maxrss_mib']:.0f} MiB" for k in kinds] for row in result["rows"]]
    lines = _table(head, sizes)
    summary = result.get("fit")
    if not summary:
        return "\n".join(lines)
    fleet = summary["fleet"]
    head = ["", "CPU per host", "CPU fixed", "r²", "memory per host", "memory fixed",
            f"CPU at {fleet['hosts']} hosts", f"peak at {fleet['hosts']}",
            f"shards for {fleet['seconds'] / 60:.0f} min on {fleet['cores']} cores"]
    fitted = []
    for kind in kinds:
        line = summary[kind]
        shards = line["shards"]
        fitted.append([
            LABELS[kind], f"{line['cpu_s_per_host_ms']:.1f} ms",
            f"{line['cpu_s']['intercept']:.2f} s", f"{line['cpu_s']['r2']:.3f}",
            f"{line['maxrss_mib_per_host']:.2f} MiB", f"{line['maxrss_mib']['intercept']:.0f} MiB",
            f"{line['projected']['cpu_s']:.0f} s", f"{line['projected']['maxrss_mib']:.0f} MiB",
            f"{shards['shards']} ({shards['finishes_s']:.0f} s)" if shards else "none",
        ])  # fmt: skip
    lines += ["", *_table(head, fitted), ""]
    for kind, goal in summary["goals"].items():
        verdict = "met" if goal["met"] else "MISSED"
        lines.append(f"- {LABELS[kind]}: CPU per host {goal['ratio']}x the floor's "
                     f"(goal: at most {goal['at_most']}x): {verdict}")  # fmt: skip
    return "\n".join(lines)


def write_chart(result: dict, path: Path) -> None:
    """Two panels against hosts: controller CPU seconds and peak memory; every run a dot, the
    fitted line through them."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows, summary = result["rows"], result["fit"]
    hosts = [row["hosts"] for row in rows]
    figure, (cpu_axes, memory_axes) = pyplot.subplots(1, 2, figsize=(12, 5))
    for kind, label in LABELS.items():
        color, line = COLORS[kind], summary[kind]
        for axes, measure, unit, scale in ((cpu_axes, "cpu_s", "ms", 1000),
                                           (memory_axes, "maxrss_mib", "MiB", 1)):
            dots = [(row["hosts"], run[measure]) for row in rows for run in row[kind]["runs"]]
            axes.plot(*zip(*dots, strict=True), ".", color=color, alpha=0.5)
            fitted = line[measure]
            ends = [fitted["intercept"], fitted["intercept"] + fitted["slope"] * hosts[-1]]
            per_host = f"{fitted['slope'] * scale:.{1 if scale > 1 else 2}f} {unit} per host"
            axes.plot([0, hosts[-1]], ends, "-", color=color, label=f"{label}: {per_host}")
    cpu_axes.set_ylabel("controller CPU seconds (user + system), each run")
    memory_axes.set_ylabel("controller peak resident memory, MiB, each run")
    for axes in (cpu_axes, memory_axes):
        axes.set_xlabel("hosts")
        axes.set_xticks(hosts)
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(f"agenthost's controller cost, {result['date'][:10]}, "
                    f"{result['machine']['cpus']} cores shared with the hosts")  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


if __name__ == "__main__":
    loaded = json.loads(Path(sys.argv[1]).read_text())
    print(render_tables(loaded))
    if len(sys.argv) > 2:  # the chart drawn again, e.g. after a change of this file
        write_chart(loaded, Path(sys.argv[2]))

"""`agenthost drift --prometheus FILE`: the run's results in node_exporter's textfile format,
for the monitoring an operator already runs (alert rules in the README).

Written with prometheus_client's own writer, which writes beside FILE and renames it over, so
node_exporter never reads half a file. Each series of the run carries its shard (`1/1` for a
whole run): N parallel branches write N files into one textfile directory without clashing.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.core import InfoMetricFamily

from agenthost.report import HostReport

PREFIX = "agenthost_drift"


class _EngineInfo:
    """agenthost_engine_info{host, source, version} 1, for each host whose engine was read."""

    def __init__(self, reports: list[HostReport]):
        self.reports = reports

    def collect(self):
        family = InfoMetricFamily("agenthost_engine", "Docker engine each host runs",
                                  labels=["host"])  # fmt: skip
        for report in self.reports:
            if report.engine:
                source, version = report.engine
                family.add_metric([report.name], {"source": source, "version": version})
        yield family


def registry(reports: list[HostReport], shard: str, started: float,
             duration: float) -> CollectorRegistry:  # fmt: skip
    """The run's metrics: per host drifted items and whether it was checked; per run (shard)
    its start, duration and hosts."""
    registry = CollectorRegistry()
    checked = Gauge(f"{PREFIX}_host_checked", "1 if the host could be checked, else 0",
                    ["host", "shard"], registry=registry)  # fmt: skip
    drifted = Gauge(f"{PREFIX}_items", "Drifted items of each host that could be checked",
                    ["host", "shard"], registry=registry)  # fmt: skip
    for report in reports:
        checked.labels(report.name, shard).set(0 if report.error else 1)
        if not report.error:  # unknown is no series, not zero drift
            drifted.labels(report.name, shard).set(len(report.drifted))
    run = {"shard": shard}
    Gauge(f"{PREFIX}_last_run_timestamp_seconds", "When the check started (Unix time)",
          list(run), registry=registry).labels(**run).set(started)  # fmt: skip
    Gauge(f"{PREFIX}_last_run_duration_seconds", "How long the check took",
          list(run), registry=registry).labels(**run).set(duration)  # fmt: skip
    Gauge(f"{PREFIX}_hosts", "Hosts this run (shard) was to check",
          list(run), registry=registry).labels(**run).set(len(reports))  # fmt: skip
    registry.register(_EngineInfo(reports))
    return registry


def write(path: str, reports: list[HostReport], shard: str, started: float,
          duration: float) -> None:  # fmt: skip
    write_to_textfile(path, registry(reports, shard, started, duration))

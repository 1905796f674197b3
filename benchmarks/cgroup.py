"""Memory of rehearsal hosts, read from their cgroups as `docker stats` computes it: usage minus
inactive page cache. (`docker stats` itself shows 0 here: systemd inside each host moves its
processes into sub-cgroups that the engine's cgroup v1 reading does not follow.)"""

from __future__ import annotations

import statistics
from pathlib import Path

import docker

from agenthost.lab.rehearsal import SET_LABEL

CGROUP = Path("/sys/fs/cgroup")


def _stat(directory: Path) -> dict[str, int]:
    lines = (directory / "memory.stat").read_text().splitlines()
    return {key: int(value) for key, value in (line.split() for line in lines)}


def container_memory_mib(container_id: str) -> float:
    v1 = CGROUP / "memory/docker" / container_id
    if v1.is_dir():  # cgroup v1: usage is hierarchical, so the sub-cgroups count
        usage = int((v1 / "memory.usage_in_bytes").read_text())
        inactive = _stat(v1)["total_inactive_file"]
    else:
        v2 = next(p for p in (CGROUP / f"system.slice/docker-{container_id}.scope",
                              CGROUP / "docker" / container_id) if p.is_dir())  # fmt: skip
        usage = int((v2 / "memory.current").read_text())
        inactive = _stat(v2)["inactive_file"]
    return (usage - inactive) / 2**20


def host_memory_mib(set_name: str) -> dict[str, float]:
    """Median per host and total, in MiB, over the set's running hosts."""
    client = docker.from_env()
    containers = client.containers.list(filters={"label": f"{SET_LABEL}={set_name}"})
    values = [container_memory_mib(c.id) for c in containers]
    return {"per_host_median": round(statistics.median(values), 1),
            "total": round(sum(values), 1)}  # fmt: skip

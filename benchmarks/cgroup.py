"""Memory and CPU time of rehearsal hosts, read from their cgroups. Memory as `docker stats`
computes it: usage minus inactive page cache. (`docker stats` itself shows 0 here: systemd inside
each host moves its processes into sub-cgroups that the engine's cgroup v1 reading does not
follow.) Both counters are hierarchical, so every process of a host counts: sshd, the shells a
deploy runs, systemd and dockerd answering them."""

from __future__ import annotations

import statistics
from pathlib import Path

import docker

from agenthost_lab.rehearsal import SET_LABEL

CGROUP = Path("/sys/fs/cgroup")


def _v2(container_id: str) -> Path:
    return next(p for p in (CGROUP / f"system.slice/docker-{container_id}.scope",
                            CGROUP / "docker" / container_id) if p.is_dir())  # fmt: skip


def _stat(path: Path) -> dict[str, int]:
    lines = path.read_text().splitlines()
    return {key: int(value) for key, value in (line.split() for line in lines)}


def container_memory_mib(container_id: str) -> float:
    v1 = CGROUP / "memory/docker" / container_id
    if v1.is_dir():
        usage = int((v1 / "memory.usage_in_bytes").read_text())
        inactive = _stat(v1 / "memory.stat")["total_inactive_file"]
    else:
        v2 = _v2(container_id)
        usage = int((v2 / "memory.current").read_text())
        inactive = _stat(v2 / "memory.stat")["inactive_file"]
    return (usage - inactive) / 2**20


def container_cpu_s(container_id: str) -> float:
    """CPU seconds the host has used since it started."""
    v1 = CGROUP / "cpuacct/docker" / container_id / "cpuacct.usage"
    if v1.is_file():
        return int(v1.read_text()) / 1e9
    return _stat(_v2(container_id) / "cpu.stat")["usage_usec"] / 1e6


def set_containers(set_name: str) -> list[str]:
    """Ids of the set's running hosts."""
    client = docker.from_env()
    return [c.id for c in client.containers.list(filters={"label": f"{SET_LABEL}={set_name}"})]


def hosts_cpu_s(container_ids: list[str]) -> float:
    return sum(container_cpu_s(container_id) for container_id in container_ids)


def host_memory_mib(set_name: str) -> dict[str, float]:
    """Median per host and total, in MiB, over the set's running hosts."""
    values = [container_memory_mib(container_id) for container_id in set_containers(set_name)]
    return {"per_host_median": round(statistics.median(values), 1),
            "total": round(sum(values), 1)}  # fmt: skip

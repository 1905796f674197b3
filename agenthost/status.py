"""`agenthost status INVENTORY`: one line per host, read-only, for the weekly "which hosts run
which engine, are their agents up, how full are their disks".

Each host is read by one shell command (STATUS), through pyinfra and its connectors as drift
reads it (agenthost/status_plan.py): OS release, kernel, the engine and its version, userns-remap
live, agent containers running of those the settings want, free space where Docker keeps its
data, and the deploy's stamp (agenthost/tasks/stamp.py): when, by which agenthost, whether the
settings changed since. A host that is down is named with pyinfra's reason. Exit 0, or 1 when a
host could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agenthost.agent_container import AGENT_LABEL
from agenthost.engine import installed_engine
from agenthost.paths import DEPLOY_STAMP

PLAN = Path(__file__).with_name("status_plan.py")

STATUS = "; ".join([
    '. /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}"',
    'echo "kernel=$(uname -r)"',
    "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' docker-ce docker.io"
    " 2>/dev/null | awk '$3 ~ /^ii/ {print \"package=\" $1 \" \" $2}'",
    "echo \"docker=$(docker info --format '{{.DockerRootDir}} {{json .SecurityOptions}}'"
    ' 2>/dev/null)"',
    f"docker ps --filter label={AGENT_LABEL} --format 'running={{{{.Names}}}}' 2>/dev/null",
    "root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null);"
    ' [ -n "$root" ] && df -P -B1 "$root" | awk \'NR==2 {print "space=" $4 " " $2}\'',
    f"echo \"stamp=$(tr -d '\\n' < {DEPLOY_STAMP} 2>/dev/null)\"",
    "true",
])  # fmt: skip


@dataclass
class HostStatus:
    name: str
    error: str | None = None  # why the host could not be read
    os: str = ""
    kernel: str = ""
    engine: str = ""  # "distro 20.10.24+dfsg1-1+deb12u1", or "none"
    userns_remap: bool = False
    docker_root: str = ""
    agents_running: list[str] = field(default_factory=list)
    agents_wanted: list[str] = field(default_factory=list)
    free_bytes: int | None = None
    size_bytes: int | None = None
    deployed: dict[str, Any] = field(default_factory=dict)  # the stamp, and "settings_changed"


def parse(name: str, output: str, wanted: list[str], digest: str) -> HostStatus:
    """A host's status from STATUS's output and what its settings want."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    packages = {p.split(" ", 1)[0]: [p.split(" ", 1)[1]] for p in found.get("package", [])}
    engine = installed_engine(packages)
    root, _, security = (found.get("docker", [""])[0]).partition(" ")
    space = (found.get("space", [""])[0]).split()
    stamp = _json(found.get("stamp", [""])[0])
    if stamp:
        stamp["settings_changed"] = stamp.get("settings") != digest
    return HostStatus(
        name, os=found.get("os", [""])[0], kernel=found.get("kernel", [""])[0],
        engine=" ".join(engine) if engine else "none", userns_remap="name=userns" in security,
        docker_root=root, agents_running=sorted(set(found.get("running", [])) & set(wanted)),
        agents_wanted=wanted, free_bytes=int(space[0]) if space else None,
        size_bytes=int(space[1]) if len(space) > 1 else None, deployed=stamp,
    )  # fmt: skip


def _json(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _gib(size: int | None) -> str:
    return "?" if size is None else f"{size / 2**30:.1f} GiB"


def line(status: HostStatus) -> str:
    """One host, one line."""
    if status.error:
        return f"{status.name}: DOWN: {status.error}"
    remap = "on" if status.userns_remap else "off"
    agents = f"{len(status.agents_running)}/{len(status.agents_wanted)}"
    space = (f"{_gib(status.free_bytes)} free of {_gib(status.size_bytes)} in "
             f"{status.docker_root}" if status.docker_root else "Docker not running")  # fmt: skip
    stamp = status.deployed
    deployed = (f"deployed {stamp.get('when', '?')} by agenthost {stamp.get('version', '?')}, "
                f"settings {'changed since' if stamp['settings_changed'] else 'unchanged'}"
                if stamp else "no deploy stamp")  # fmt: skip
    return (f"{status.name}: {status.os}, kernel {status.kernel}, engine {status.engine},"
            f" userns-remap {remap}, agents {agents} running, {space}, {deployed}")  # fmt: skip


def to_json(statuses: list[HostStatus]) -> str:
    return json.dumps({"hosts": [asdict(s) for s in statuses]}, indent=2, sort_keys=True) + "\n"


# --- inside pyinfra: one host's read (agenthost/status_plan.py) -------------------------------


def report_status(state, host) -> None:
    """Read `host` with STATUS and send what `parse` needs to `agenthost status`."""
    from pyinfra.facts.server import Command

    from agenthost import drift
    from agenthost.hostdata import all_settings
    from agenthost.tasks.stamp import settings_digest

    settings = all_settings(state)[host.name]
    drift.send(state, {
        "host": host.name, "output": host.get_fact(Command, STATUS) or "",
        "wanted": [c.name for c in settings.agent_containers],
        "digest": settings_digest(settings),
    })  # fmt: skip


# --- command line ----------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from agenthost.drift_command import add_fleet_options

    parser = subparsers.add_parser(
        "status", help="one line per host: OS, kernel, engine, agents, disk, last deploy",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_fleet_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from agenthost import drift, report
    from agenthost.drift_command import fleet_hosts

    problems, hosts = fleet_hosts(args, {"--json": args.json_file})
    if problems:
        print(*(f"agenthost status: {p}" for p in problems), sep="\n", file=sys.stderr)
        return report.EXIT_USAGE
    if args.shard and not hosts:
        print(f"shard {args.shard}: no host of the inventory falls in it")
        statuses = []
    else:
        limit = [h["name"] for h in hosts] if args.shard else args.limit
        try:
            statuses = drift.check(
                args.inventory, limit, lambda s: print(line(s), flush=True), plan=PLAN,
                make=lambda r: parse(r["host"], r["output"], r["wanted"], r["digest"]),
                down=lambda name, why: HostStatus(name, error=why),
                hosts=[h["name"] for h in hosts],
            )  # fmt: skip
        except drift.DriftError as error:
            print(f"agenthost status: {error}", file=sys.stderr)
            return report.EXIT_UNCHECKED
    if args.json_file:
        Path(args.json_file).write_text(to_json(statuses))
    return report.EXIT_UNCHECKED if any(s.error for s in statuses) else 0

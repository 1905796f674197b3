"""The real pyinfra CLI, run as an operator runs it, against the e2e rehearsal hosts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from agenthost_lab import engine, rehearsal, state

REPO = Path(__file__).resolve().parents[2]
# Parallel runs on one engine (several worktrees) keep apart by a prefix on every set name.
SET_PREFIX = os.environ.get("AGENTHOST_E2E_PREFIX", "")
SET = f"{SET_PREFIX}e2e"
STAMP_OP = "Deploy stamp for agenthost status"
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


@contextmanager
def rehearsal_hosts(set_name: str, counts: Mapping[str, int]) -> Iterator[list[state.Host]]:
    """A set of rehearsal hosts for a test, removed after it unless AGENTHOST_KEEP_HOSTS is set."""
    engine.ensure_engine()
    try:
        yield rehearsal.up(set_name, counts)
    finally:  # also when `up` fails half-way
        if not os.environ.get("AGENTHOST_KEEP_HOSTS"):
            rehearsal.down(set_name)


class Run:
    def __init__(self, process: subprocess.CompletedProcess):
        self.returncode = process.returncode
        self.output = process.stdout + process.stderr
        self.stderr = process.stderr
        self.results = json.loads(process.stdout)["results"] if process.stdout.strip() else None

    def changed(self, stamp: bool = False) -> dict[str, list[str]]:
        """Operation name -> hosts it changed; without the deploy stamp unless `stamp`, since
        the stamp follows whatever else changed (test_docker_daemon proves it does)."""
        return {op["name"]: op["success"] for op in self.results["operations"]
                if op["success"] and (stamp or op["name"] != STAMP_OP)}  # fmt: skip

    def facts_read(self) -> dict[str, list[str]]:
        """Host -> the facts it was asked for, one command each (logged with `-v`)."""
        reads: dict[str, list[str]] = {}
        for host, fact in re.findall(r"\[([^\]]+)\]\s+Loaded fact (\S+)", self.stderr):
            reads.setdefault(host, []).append(fact.rsplit(".", 1)[-1])
        return reads

    def reached(self) -> set[str]:
        ops = self.results["operations"]
        return {name for op in ops for name in op["success"] + op["no_change"]}


def write_inventory(path: Path, data: dict | None = None, host_data: dict | None = None,
                    set_name: str = SET) -> Path:  # fmt: skip
    """A pyinfra inventory of a set's hosts with settings, as an operator would write one."""
    path.write_text(
        "from agenthost_lab.state import inventory_groups, load_hosts\n"
        f"hosts = [(name, {{**connect, **{host_data or {}!r}.get(name, {{}})}})\n"
        f"         for name, connect in inventory_groups(load_hosts({set_name!r}))['rehearsal']]\n"
        f"rehearsal = (hosts, {data or {}!r})\n"
    )
    return path


def deploy(*args: str, inventory: Path | None = None) -> Run:
    """`pyinfra -y --json INVENTORY deploy.py`, as an operator runs it."""
    command = [PYINFRA, "-y", "--json", str(inventory or "inventory/rehearsal.py"), "deploy.py"]
    env = {**os.environ, "AGENTHOST_REHEARSAL_SET": SET}
    process = subprocess.run(
        [*command[:3], *args, *command[3:]], cwd=REPO, env=env, capture_output=True, text=True
    )
    return Run(process)

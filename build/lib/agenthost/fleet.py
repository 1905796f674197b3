"""The hosts of a pyinfra inventory with their validated settings, loaded as a deploy loads them.

pyinfra's own CLI reads the inventory and group_data/*.py (`pyinfra --json INVENTORY
debug-inventory`, run from the deploy repository as a deploy is), and hostdata.all_settings adds
group_data/*.yaml and validates. The CLI runs as a subprocess because importing pyinfra_cli
monkey-patches the whole standard library for gevent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pyinfra.api import Config, Inventory, State

from agenthost.hostdata import all_settings
from agenthost.settings import Settings, redact

PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


class InventoryError(RuntimeError):
    """The inventory could not be loaded; the message is pyinfra's, credentials redacted."""


def inventory_hosts(inventory: str, directory: Path | None = None) -> list[dict[str, Any]]:
    """pyinfra's view of the inventory: [{name, groups, data}], data merged over groups."""
    process = subprocess.run(
        [PYINFRA, "--json", str(Path(inventory).resolve()), "debug-inventory"],
        cwd=directory, capture_output=True, text=True,
    )  # fmt: skip
    hosts = json.loads(process.stdout) if process.returncode == 0 else []
    if not hosts:
        # pyinfra's words, without its progress lines ("--> Loading inventory...").
        said = [line.strip() for line in process.stderr.splitlines()
                if line.strip() and not line.endswith("...")]  # fmt: skip
        raise InventoryError(redact(f"{inventory}: no hosts: " + " ".join(said)))
    return hosts


def settings_of(hosts: list[dict[str, Any]], group_data: Path) -> dict[str, Settings]:
    """Every host's validated settings; raises hostdata.InvalidSettings naming each bad one."""
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host["groups"]:
            groups.setdefault(group, []).append(host["name"])
    inventory = Inventory(
        ([(host["name"], host["data"]) for host in hosts], {}),
        **{name: (members, {}) for name, members in groups.items()},
    )
    return all_settings(State(inventory, Config()), group_data)

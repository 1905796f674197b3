"""The hosts of a pyinfra inventory with their validated settings, loaded as a deploy loads them.

pyinfra's own CLI reads the inventory and group_data/*.py (`pyinfra --json INVENTORY
debug-inventory`, run from the deploy repository as a deploy is), and hostdata.all_settings adds
group_data/*.yaml and validates. The CLI runs as a subprocess because importing pyinfra_cli
monkey-patches the whole standard library for gevent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pyinfra.api import Config, Inventory, State

from agenthost.hostdata import all_settings, validate_hosts, yaml_group_data
from agenthost.settings import Settings, redact

PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


class InventoryError(RuntimeError):
    """The inventory could not be loaded; the message is pyinfra's, credentials redacted."""


def inventory_hosts(inventory: str, directory: Path | None = None) -> list[dict[str, Any]]:
    """pyinfra's view of the inventory: [{name, groups, data}], data merged over groups."""
    if inventory.endswith(".py") and not Path(inventory).exists():  # before pyinfra guesses
        raise InventoryError(f"{inventory}: no such inventory file")  # a module or a host in it
    process = subprocess.run(
        [PYINFRA, "--json", inventory_argument(inventory), "debug-inventory"],
        cwd=directory, capture_output=True, text=True,
    )  # fmt: skip
    hosts = json.loads(process.stdout) if process.returncode == 0 else []
    if not hosts:
        # pyinfra's words, without its progress lines ("--> Loading inventory...").
        said = [line.strip() for line in process.stderr.splitlines()
                if line.strip() and not line.endswith("...")]  # fmt: skip
        if "Traceback (most recent call last):" in said:  # an exception: its words alone
            words = [line for line in said if not line.startswith("-->")][-1:]
            said = [*said[: said.index("Traceback (most recent call last):")], *words]
        raise InventoryError(redact(f"{inventory}: no hosts: " + " ".join(said)))
    return hosts


def retired(host: dict[str, Any], group_data: Path = Path("group_data")) -> bool:
    """`agent_retired` of a host of inventory_hosts, from the inventory or group_data/*.yaml."""
    return bool({**yaml_group_data(group_data, host["groups"]), **host["data"]}.get(
        "agent_retired"))


def read_on_hosts(inventory: str, command: str, limit: list[str] = ()) -> dict[str, str | None]:
    """`command`'s output on each host (None where it could not be read), over the inventory's
    own connections: pyinfra's `fact server.Command`, which changes nothing."""
    limits = [arg for name in limit for arg in ("--limit", name)]
    process = subprocess.run(
        [PYINFRA, "--json", *limits, inventory_argument(inventory),
         "fact", "server.Command", f"command={command}"],
        capture_output=True, text=True,
    )  # fmt: skip
    try:
        facts = json.loads(process.stdout)
    except json.JSONDecodeError:
        said = " ".join(line.strip() for line in process.stderr.splitlines() if line.strip())
        raise InventoryError(redact(f"{inventory}: not read: {said}")) from None
    # {"server.Command (command=...)": {host: output}}
    return next(iter(facts.values()), {}) if facts else {}


def inventory_command(subparsers: argparse._SubParsersAction, name: str, summary: str,
                      module_doc: str, run) -> argparse.ArgumentParser:  # fmt: skip
    """A sub-command that reads the hosts of an inventory, described by its module's docstring."""
    parser = subparsers.add_parser(
        name, help=summary, description=module_doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("inventory", help="pyinfra inventory, e.g. inventory/production.py")
    parser.set_defaults(func=run)
    return parser


def inventory_argument(inventory: str) -> str:
    """A file named whole (pyinfra may run elsewhere); a host list or @connector as given."""
    return str(Path(inventory).resolve()) if Path(inventory).exists() else inventory


def settings_of(hosts: list[dict[str, Any]], group_data: Path) -> dict[str, Settings]:
    """Every host's validated settings; raises hostdata.InvalidSettings naming each bad one."""
    return all_settings(State(_inventory(hosts), Config()), group_data)


def settings_errors(hosts: list[dict[str, Any]], group_data: Path) -> list[str]:
    """Every settings error of these hosts, but for the deploy machine's files they name."""
    return validate_hosts(_inventory(hosts), group_data, local_files=False)[1]


def _inventory(hosts: list[dict[str, Any]]) -> Inventory:
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host["groups"]:
            groups.setdefault(group, []).append(host["name"])
    return Inventory(
        ([(host["name"], host["data"]) for host in hosts], {}),
        **{name: (members, {}) for name, members in groups.items()},
    )

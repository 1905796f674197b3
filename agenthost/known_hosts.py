"""`agenthost known-hosts INVENTORY`: the hosts' SSH host keys as known_hosts lines.

For the Jenkins controller's "Known hosts file" verification strategy: each line names a host by
the address the inventory connects to (`ssh_hostname`, else the host's name; `[address]:port`
when the port is not 22), so `ssh -o StrictHostKeyChecking=yes` accepts exactly these hosts; a
retired host (`agent_retired`) is left out.
The keys are read from /etc/ssh on each host, over the inventory's own connection (pyinfra's
CLI, as a deploy reaches them), not taken from whoever answers on the network.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agenthost.fleet import (
    InventoryError,
    inventory_command,
    inventory_hosts,
    read_on_hosts,
    retired,
)
from agenthost.report import EXIT_USAGE
from agenthost.settings import SettingsError

READ_KEYS = "cat /etc/ssh/ssh_host_*_key.pub"
KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


def address(name: str, data: dict[str, Any]) -> str:
    """A host's known_hosts name: where the inventory connects to, with a port other than 22."""
    hostname = data.get("ssh_hostname") or name
    port = int(data.get("ssh_port") or 22)
    return hostname if port == 22 else f"[{hostname}]:{port}"


def known_hosts_lines(address: str, public_keys: str) -> list[str]:
    """One `address type key` line for each public key line (comments dropped)."""
    lines = []
    for line in public_keys.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith(KEY_TYPES):
            lines.append(f"{address} {fields[0]} {fields[1]}")
    return lines


def host_keys(inventory: str) -> dict[str, str]:
    """Each host's public host key files, read over the inventory's connection."""
    return {name: output or "" for name, output in read_on_hosts(inventory, READ_KEYS).items()}


def _run(args: argparse.Namespace) -> int:
    try:
        hosts = inventory_hosts(args.inventory)
        # Out of service: the controller must no longer reach it.
        out = {host["name"] for host in hosts if retired(host)}
    except (InventoryError, SettingsError) as error:  # before any host is read
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        keys = host_keys(args.inventory)
    except InventoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    missing = []
    for host in hosts:
        if host["name"] in out:
            print(f"{host['name']}: retired (agent_retired), not listed", file=sys.stderr)
            continue
        lines = known_hosts_lines(address(host["name"], host["data"]), keys.get(host["name"], ""))
        print("\n".join(lines)) if lines else missing.append(host["name"])
    if missing:
        print(f"error: no host key read from {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    inventory_command(subparsers, "known-hosts",
                      "print the hosts' SSH host keys as known_hosts lines", __doc__, _run)

"""Where a set of rehearsal hosts (containers or VMs) is recorded (.rehearsal/SET/hosts.json
and an ssh_config beside it) and how pyinfra reaches its hosts. It needs no Docker engine and no
docker SDK, so an inventory reads it wherever agenthost is installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

RELEASES = {"bookworm": "12", "trixie": "13"}
DEFAULT_RELEASE = "bookworm"
DEFAULT_SET = "default"


class RehearsalError(RuntimeError):
    """A rehearsal host or image could not be made."""


@dataclass(frozen=True)
class Host:
    name: str
    release: str
    port: int
    key: str
    machine: str = "container"  # or "vm" (agenthost_lab.rehearsal_vm)


def state_dir(set_name: str) -> Path:
    base = os.environ.get("AGENTHOST_REHEARSAL_DIR")
    # Beside the inventory that reads it: the working directory, as for pyinfra's group_data.
    root = Path(base) if base else Path.cwd() / ".rehearsal"
    return root / set_name


def load_hosts(set_name: str = DEFAULT_SET) -> list[Host]:
    path = state_dir(set_name) / "hosts.json"
    if not path.exists():
        option = "" if set_name == DEFAULT_SET else f" --set {set_name}"
        raise RehearsalError(
            f"no rehearsal hosts for set {set_name!r} ({path} is missing): "
            f"run `agenthost rehearsal up{option}` first"
        )
    return [Host(**entry) for entry in json.loads(path.read_text())["hosts"]]


def render_ssh_config(hosts: Iterable[Host]) -> str:
    return "".join(
        f"Host {h.name}\n"
        f"  HostName 127.0.0.1\n"
        f"  Port {h.port}\n"
        f"  User root\n"
        f"  IdentityFile {h.key}\n"
        f"  IdentitiesOnly yes\n"
        f"  StrictHostKeyChecking no\n"
        f"  UserKnownHostsFile /dev/null\n"
        f"  LogLevel ERROR\n\n"
        for h in hosts
    )


def inventory_groups(hosts: Iterable[Host]) -> dict[str, list[tuple[str, dict]]]:
    """pyinfra groups: `rehearsal` with every host, and one group per release; each host with
    its connection, and container hosts with docker_audit off."""
    groups: dict[str, list[tuple[str, dict]]] = {"rehearsal": [], **{r: [] for r in RELEASES}}
    for h in hosts:
        entry = (h.name, {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": h.port,
            "ssh_user": "root",
            "ssh_key": h.key,
            "ssh_strict_host_key_checking": "no",
            "ssh_known_hosts_file": "/dev/null",
            # A container's kernel audit is the build machine's: docker_audit refuses it.
            **({"docker_audit": False} if h.machine == "container" else {}),
        })
        groups["rehearsal"].append(entry)
        groups[h.release].append(entry)
    return groups


def write_state(set_name: str, hosts: list[Host]) -> Path:
    directory = state_dir(set_name)
    directory.mkdir(parents=True, exist_ok=True)
    state = {"set": set_name, "hosts": [asdict(h) for h in hosts]}
    (directory / "hosts.json").write_text(json.dumps(state, indent=2) + "\n")
    (directory / "ssh_config").write_text(render_ssh_config(hosts))
    return directory

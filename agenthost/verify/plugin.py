"""Hosts for the testinfra suite: a pyinfra inventory's, or testinfra's own --hosts.

    agenthost verify inventory/production.py [--limit agent-01]
    agenthost verify inventory/production.py --hosts ssh://agent-01 --ssh-config F [--sudo]

Expected values come from agenthost.desired, given each host's settings: the inventory's (with
both options, --hosts picks the inventory's hosts by name and says how to reach them), or with
--hosts alone the defaults and group_data/*.yaml. A pytest plugin (`-p agenthost.verify.plugin`,
as `agenthost verify` loads it): a plain `pytest` of the repository does not collect the suite.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import testinfra
from testinfra.host import Host

from agenthost import desired, engine, fleet
from agenthost.settings import Settings


@dataclass(frozen=True)
class AgentHost:
    """A host to check: how testinfra reaches it and the settings it was deployed with."""

    name: str
    spec: str
    settings: Settings
    ssh_options: tuple[str, ...] = ()

    @property
    def socket_name(self) -> str:
        """Short (a socket path has 108 bytes) and free of `%`, which testinfra formats."""
        return hashlib.sha256(self.spec.encode()).hexdigest()[:16]

    def connect(self, option: Any, control_dir: str) -> Host:
        """testinfra runs each check's commands over SSH: one connection per host, shared
        through a control socket in `control_dir`, instead of a handshake per command."""
        return testinfra.get_host(self.spec, ssh_config=option.ssh_config,
                                  ssh_identity_file=option.ssh_identity_file,
                                  ssh_extra_args=" ".join(self.ssh_options) or None,
                                  controlpath=f"{control_dir}/{self.socket_name}",
                                  controlpersist=10,
                                  sudo=option.sudo)  # fmt: skip


@dataclass(frozen=True)
class Probe:
    """A connected host, its settings and the agent's account as the host has it."""

    host: Host
    settings: Settings

    @property
    def account(self) -> desired.Account:
        user = self.host.user(self.settings.agent_user)
        home = self.settings.home(user.home if user.exists else None)
        return desired.Account(home, user.group if user.exists else self.settings.agent_user)

    @property
    def system(self) -> engine.System:
        lines = self.host.file("/etc/os-release").content_string.splitlines()
        meta = dict(line.split("=", 1) for line in lines if "=" in line)
        return engine.System.from_os_release({k.lower(): v.strip('"') for k, v in meta.items()})


HOSTS = pytest.StashKey[list[AgentHost]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("agenthost").addoption(
        "--inventory", metavar="FILE",
        help="pyinfra inventory: check its hosts against their settings",
    )  # fmt: skip
    parser.getgroup("agenthost").addoption(
        "--limit", action="append", metavar="HOST",
        help="only these hosts of the inventory: names, groups or globs",
    )  # fmt: skip


def spec_from_inventory(name: str, data: dict[str, Any]) -> str:
    """testinfra's host spec for a host that pyinfra reaches over SSH."""
    user = f"{data['ssh_user']}@" if data.get("ssh_user") else ""
    port = f":{data['ssh_port']}" if data.get("ssh_port") else ""
    query = f"?ssh_identity_file={data['ssh_key']}" if data.get("ssh_key") else ""
    return f"ssh://{user}{data.get('ssh_hostname') or name}{port}{query}"


def ssh_options(data: dict[str, Any]) -> tuple[str, ...]:
    """pyinfra's host key settings as `ssh -o` options (its default: accept-new)."""
    checking = data.get("ssh_strict_host_key_checking") or "accept-new"
    options = ("-o", f"StrictHostKeyChecking={checking}")
    if data.get("ssh_known_hosts_file"):
        options += ("-o", f"UserKnownHostsFile={data['ssh_known_hosts_file']}")
    return options


def agent_hosts(config: pytest.Config) -> list[AgentHost]:
    inventory, option = config.getoption("inventory"), config.option
    specs = option.hosts.split(",") if option.hosts else []
    names = {spec.split("://")[-1].split("@")[-1].split(":")[0].split("?")[0]: spec
             for spec in specs}  # fmt: skip
    if inventory:
        try:
            hosts = fleet.inventory_hosts(inventory)
        except fleet.InventoryError as error:
            raise pytest.UsageError(str(error)) from None
        settings = fleet.settings_of(hosts, Path("group_data"))
        unknown = sorted(set(names) - set(settings))
        if unknown:
            raise pytest.UsageError(f"--hosts {', '.join(unknown)}: not in {inventory}")
        hosts = limited(hosts, config.getoption("limit"))
        return [
            AgentHost(h["name"], names.get(h["name"]) or spec_from_inventory(h["name"], h["data"]),
                      settings[h["name"]], ssh_options(h["data"]))
            for h in hosts if not names or h["name"] in names
        ]  # fmt: skip
    blank = [{"name": name, "groups": [], "data": {}} for name in names]
    settings = fleet.settings_of(blank, Path("group_data")) if blank else {}
    return [AgentHost(name, spec, settings[name]) for name, spec in names.items()]


def limited(hosts: list[dict[str, Any]], patterns: list[str] | None) -> list[dict[str, Any]]:
    """The hosts a pyinfra --limit of these patterns keeps (a name, a group, or a glob)."""
    if not patterns:
        return hosts
    kept = [h for h in hosts if any(fnmatch(h["name"], p) or p in h["groups"] for p in patterns)]
    if not kept:
        raise pytest.UsageError(f"No host matches found for --limit pattern(s): {patterns}")
    return kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "agent_host" not in metafunc.fixturenames:
        return
    if HOSTS not in metafunc.config.stash:
        metafunc.config.stash[HOSTS] = agent_hosts(metafunc.config)
    hosts = metafunc.config.stash[HOSTS]
    if not hosts:
        skip = pytest.mark.skip(reason="no hosts: give --inventory FILE or --hosts")
        hosts = [pytest.param(None, marks=skip, id="no-hosts")]
    metafunc.parametrize("agent_host", hosts, indirect=True, scope="session",
                         ids=lambda host: getattr(host, "name", None))  # fmt: skip


@pytest.fixture(scope="session")
def control_dir():
    """Private to this run; each shared connection ends 10 s after its host's last check."""
    directory = tempfile.mkdtemp(prefix="agenthost-verify-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def agent_host(request: pytest.FixtureRequest, control_dir: str) -> Probe:
    host: AgentHost = request.param
    return Probe(host.connect(request.config.option, control_dir), host.settings)

"""Hosts for the testinfra suite: a pyinfra inventory's, or testinfra's own --hosts.

    pytest tests/host --inventory inventory/production.py
    pytest tests/host --hosts ssh://agent-01,ssh://agent-02 [--ssh-config F] [--sudo]

Expected values come from each host's settings: the inventory's (with both options, --hosts picks
the inventory's hosts by name and says how to reach them), or with --hosts alone the defaults
and group_data/*.yaml. It runs against real hosts on demand only: a plain `pytest` does not
collect it (pyproject's testpaths).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from agenthost import checks, fleet, remote
from agenthost.settings import Settings


@dataclass(frozen=True)
class AgentHost:
    name: str
    target: remote.Target | None
    settings: Settings
    problem: str | None = None


HOSTS = pytest.StashKey[list[AgentHost]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("agenthost").addoption(
        "--inventory", metavar="FILE",
        help="pyinfra inventory: check its hosts against their settings",
    )  # fmt: skip


def agent_hosts(config: pytest.Config) -> list[AgentHost]:
    inventory, option = config.getoption("inventory"), config.option
    specs = option.hosts.split(",") if option.hosts else []
    targets = [remote.target_from_hostspec(spec, option.ssh_config, option.ssh_identity_file,
                                           option.sudo) for spec in specs]  # fmt: skip
    if inventory:
        try:
            found = {host.name: host for host in fleet.load(inventory)}
        except fleet.InventoryError as error:
            raise pytest.UsageError(str(error)) from None
        unknown = [target.name for target in targets if target.name not in found]
        if unknown:
            raise pytest.UsageError(f"--hosts {', '.join(unknown)}: not in {inventory}")
        if targets:
            return [AgentHost(t.name, t, found[t.name].settings) for t in targets]
        return [AgentHost(h.name, h.target, h.settings, h.problem) for h in found.values()]
    if not targets:
        return []
    blank = [{"name": target.name, "groups": [], "data": {}} for target in targets]
    settings = fleet.settings_of(blank, fleet.REPO / "group_data")
    return [AgentHost(target.name, target, settings[target.name]) for target in targets]


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
def agent_host(request: pytest.FixtureRequest) -> Iterator[checks.Probe]:
    """The host, connected once for all its tests."""
    host: AgentHost = request.param
    if host.target is None:
        pytest.fail(host.problem or f"{host.name}: cannot be reached")
    with remote.connect(host.target) as (testinfra_host, client):
        yield checks.Probe(host.settings, testinfra_host, client)

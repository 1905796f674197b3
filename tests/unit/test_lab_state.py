"""Where a rehearsal set is recorded and how pyinfra reaches its hosts (agenthost_lab.state)."""

import json

import pytest

from agenthost_lab import state
from agenthost_lab.state import Host, RehearsalError

HOSTS = [
    Host("agenthost-bookworm-1", "bookworm", 32768, "/k/rehearsal_ed25519"),
    Host("agenthost-trixie-1", "trixie", 32769, "/k/rehearsal_ed25519"),
]


def test_ssh_config_reaches_each_host_on_loopback_with_the_key():
    text = state.render_ssh_config(HOSTS)
    assert text.startswith(
        "Host agenthost-bookworm-1\n"
        "  HostName 127.0.0.1\n"
        "  Port 32768\n"
        "  User root\n"
        "  IdentityFile /k/rehearsal_ed25519\n"
    )
    assert text.count("StrictHostKeyChecking no") == 2
    assert text.count("UserKnownHostsFile /dev/null") == 2
    assert "Host agenthost-trixie-1\n  HostName 127.0.0.1\n  Port 32769\n" in text


def test_inventory_groups_by_release_with_pyinfra_ssh_data():
    groups = state.inventory_groups(HOSTS)
    assert [name for name, _ in groups["rehearsal"]] == [h.name for h in HOSTS]
    assert [name for name, _ in groups["bookworm"]] == ["agenthost-bookworm-1"]
    assert [name for name, _ in groups["trixie"]] == ["agenthost-trixie-1"]
    assert groups["bookworm"][0][1] == {
        "ssh_hostname": "127.0.0.1",
        "ssh_port": 32768,
        "ssh_user": "root",
        "ssh_key": "/k/rehearsal_ed25519",
        "ssh_strict_host_key_checking": "no",
        "ssh_known_hosts_file": "/dev/null",
        "docker_audit": False,  # a container's kernel audit is the machine's
    }


def test_inventory_data_keys_are_pyinfra_ssh_connector_keys_and_docker_audit():
    from pyinfra.connectors.ssh import ConnectorData

    (_, data), *_ = state.inventory_groups(HOSTS)["rehearsal"]
    assert set(data) - {"docker_audit"} <= set(ConnectorData.__annotations__)
    vm = Host("agenthost-vm-trixie-1", "trixie", 40022, "/k", "vm")
    (_, data), = state.inventory_groups([vm])["rehearsal"]
    assert "docker_audit" not in data  # a VM audits with its own kernel


def test_state_round_trips_and_missing_state_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTHOST_REHEARSAL_DIR", str(tmp_path))
    with pytest.raises(RehearsalError, match="agenthost rehearsal up --set e2e"):
        state.load_hosts("e2e")
    state.write_state("e2e", HOSTS)
    assert state.load_hosts("e2e") == HOSTS
    assert json.loads((tmp_path / "e2e/hosts.json").read_text())["set"] == "e2e"
    assert (tmp_path / "e2e/ssh_config").read_text() == state.render_ssh_config(HOSTS)


def test_state_dir_defaults_to_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("AGENTHOST_REHEARSAL_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert state.state_dir("default") == tmp_path / ".rehearsal" / "default"

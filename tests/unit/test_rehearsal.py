import argparse
import json

import docker
import pytest

from agenthost.lab import rehearsal, rehearsal_cli
from agenthost.lab.rehearsal import Host
from agenthost.lab.rehearsal_image import RehearsalError

HOSTS = [
    Host("agenthost-bookworm-1", "bookworm", 32768, "/k/rehearsal_ed25519"),
    Host("agenthost-trixie-1", "trixie", 32769, "/k/rehearsal_ed25519"),
]


def test_container_spec_has_what_systemd_and_a_nested_dockerd_need():
    create, host_config = rehearsal.container_spec("e2e", "trixie", 2)
    assert create["name"] == create["hostname"] == "agenthost-e2e-trixie-2"
    assert create["image"].startswith("agenthost-rehearsal:trixie-")
    assert create["command"] == ["/lib/systemd/systemd"]
    assert create["labels"][rehearsal.SET_LABEL] == "e2e"
    assert "SYS_RESOURCE" not in host_config["cap_add"]  # the bounding set lacks it here
    assert {"SYS_ADMIN", "NET_ADMIN", "MKNOD"} <= set(host_config["cap_add"])
    assert host_config["cgroupns"] == "host"
    assert host_config["binds"]["/sys/fs/cgroup"]["mode"] == "rw"
    assert host_config["binds"]["agenthost-e2e-trixie-2-docker"]["bind"] == "/var/lib/docker"
    assert set(host_config["tmpfs"]) == {"/run", "/run/lock"}
    assert host_config["network_mode"] == "agenthost-rehearsal-e2e"


def test_ssh_is_published_on_loopback_only_on_the_port_chosen_at_up():
    _, host_config = rehearsal.container_spec("default", "bookworm", 1, 2201)
    assert host_config["port_bindings"] == {22: ("127.0.0.1", 2201)}


def test_container_spec_is_accepted_by_the_docker_sdk():
    api = docker.APIClient(version="1.41")
    create, host_config = rehearsal.container_spec("default", "bookworm", 1, 2201)
    config = api.create_host_config(**host_config) | rehearsal.UNCONFINED_SYSTEM_PATHS
    assert config["CgroupnsMode"] == "host"
    assert config["PortBindings"] == {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "2201"}]}
    assert config["MaskedPaths"] == config["ReadonlyPaths"] == []  # systempaths=unconfined


def test_default_set_keeps_short_names():
    assert rehearsal.host_name("default", "bookworm", 1) == "agenthost-bookworm-1"
    assert rehearsal.host_name("e2e", "bookworm", 1) == "agenthost-e2e-bookworm-1"


@pytest.mark.parametrize("total, releases, expected", [
    (3, ["bookworm"], {"bookworm": 3}),
    (3, ["bookworm", "trixie"], {"bookworm": 2, "trixie": 1}),
    (1, ["trixie", "bookworm"], {"trixie": 1, "bookworm": 0}),
    (2, ["bookworm", "bookworm", "trixie"], {"bookworm": 1, "trixie": 1}),
])
def test_spread_deals_hosts_over_releases_in_turn(total, releases, expected):
    assert rehearsal.spread(total, releases) == expected


def test_ssh_config_reaches_each_host_on_loopback_with_the_key():
    text = rehearsal.render_ssh_config(HOSTS)
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
    groups = rehearsal.inventory_groups(HOSTS)
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

    (_, data), *_ = rehearsal.inventory_groups(HOSTS)["rehearsal"]
    assert set(data) - {"docker_audit"} <= set(ConnectorData.__annotations__)
    vm = Host("agenthost-vm-trixie-1", "trixie", 40022, "/k", "vm")
    (_, data), = rehearsal.inventory_groups([vm])["rehearsal"]
    assert "docker_audit" not in data  # a VM audits with its own kernel


def test_state_round_trips_and_missing_state_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTHOST_REHEARSAL_DIR", str(tmp_path))
    with pytest.raises(RehearsalError, match="agenthost rehearsal up --set e2e"):
        rehearsal.load_hosts("e2e")
    rehearsal.write_state("e2e", HOSTS)
    assert rehearsal.load_hosts("e2e") == HOSTS
    assert json.loads((tmp_path / "e2e/hosts.json").read_text())["set"] == "e2e"
    assert (tmp_path / "e2e/ssh_config").read_text() == rehearsal.render_ssh_config(HOSTS)


def test_state_dir_defaults_to_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("AGENTHOST_REHEARSAL_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert rehearsal.state_dir("default") == tmp_path / ".rehearsal" / "default"


def parse(argv):
    parser = argparse.ArgumentParser()
    rehearsal_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["rehearsal", *argv])


def test_cli_releases_repeat_or_comma_separate():
    args = parse(["up", "--hosts", "3", "--release", "bookworm,trixie", "--release", "trixie"])
    assert args.release == ["bookworm", "trixie", "trixie"]
    assert args.hosts == 3 and args.set == "default"
    assert callable(args.func)


@pytest.mark.parametrize("argv", [
    ["up", "--release", "buster"],
    ["up", "--hosts", "0"],
    ["up", "--set", "Has Space"],
])
def test_cli_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit):
        parse(argv)


def test_cli_set_has_a_name_alias():
    assert parse(["down", "--name", "e2e"]).set == "e2e"


class _Container:
    def __init__(self, ports):
        self.ports = ports


def test_status_shows_where_ssh_answers_not_a_python_repr():
    bound = {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}]}
    assert rehearsal.ssh_address(_Container(bound)) == "127.0.0.1:32768"
    assert rehearsal.ssh_address(_Container({})) == "-"  # stopped: nothing published


def test_down_says_what_it_removed(monkeypatch, capsys):
    monkeypatch.setattr(rehearsal_cli, "down", lambda name: ["agenthost-e2e-bookworm-1"])
    assert rehearsal_cli._cmd_down(argparse.Namespace(set="e2e")) == 0
    assert capsys.readouterr().out == "removed set 'e2e': agenthost-e2e-bookworm-1\n"
    monkeypatch.setattr(rehearsal_cli, "down", lambda name: [])
    rehearsal_cli._cmd_down(argparse.Namespace(set="e2e"))
    assert capsys.readouterr().out == "no hosts in set 'e2e'; nothing removed\n"

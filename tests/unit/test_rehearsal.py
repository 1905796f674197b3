"""Rehearsal hosts (agenthost_lab.rehearsal): what their containers are made with."""

import docker
import pytest

from agenthost_lab import rehearsal


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


def test_ssh_is_published_on_loopback_only_with_a_random_port():
    _, host_config = rehearsal.container_spec("default", "bookworm", 1)
    assert host_config["port_bindings"] == {22: ("127.0.0.1", None)}


def test_container_spec_is_accepted_by_the_docker_sdk():
    api = docker.APIClient(version="1.41")
    create, host_config = rehearsal.container_spec("default", "bookworm", 1)
    config = api.create_host_config(**host_config) | rehearsal.UNCONFINED_SYSTEM_PATHS
    assert config["CgroupnsMode"] == "host"
    assert config["PortBindings"] == {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
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


class _Container:
    def __init__(self, ports):
        self.ports = ports


def test_status_shows_where_ssh_answers_not_a_python_repr():
    bound = {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}]}
    assert rehearsal.ssh_address(_Container(bound)) == "127.0.0.1:32768"
    assert rehearsal.ssh_address(_Container({})) == "-"  # stopped: nothing published

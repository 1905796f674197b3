"""The live checks' pure parts, and how hosts are reached: SSH arguments, the Docker socket."""

import socket

import pytest

from agenthost import checks, remote
from agenthost.checks import Item
from agenthost.settings import AgentContainer


def test_json_key_items_name_the_key_that_drifted():
    expected = {"icc": False, "log-opts": {"max-size": "10m"}, "live-restore": True}
    text = '{"icc": true, "log-opts": {"max-size": "10m"}, "debug": true}'
    items = checks.json_key_items("/etc/docker/daemon.json", expected, text)
    assert [item for item in items if not item.ok] == [
        Item("/etc/docker/daemon.json: debug", "unset", "true"),
        Item("/etc/docker/daemon.json: icc", "false", "true"),
        Item("/etc/docker/daemon.json: live-restore", "true", "unset"),
    ]
    assert (
        Item("/etc/docker/daemon.json: log-opts", '{"max-size": "10m"}', '{"max-size": "10m"}')
        in items
    )


@pytest.mark.parametrize("text", ["{", "[]", ""])
def test_json_key_items_of_a_file_that_is_no_json_object(text):
    assert checks.json_key_items("f", {"icc": False}, text) == [
        Item("f: JSON object", "valid", "invalid")
    ]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (None, "unset"),
        ("", "unset"),
        ("http://proxy:3128", "http://proxy:3128"),
        ("http://builder:s3cr%t@proxy:3128", "http://***@proxy:3128"),
        ("http://xxxxx:xxxxx@proxy:3128", "http://***@proxy:3128"),  # as dockerd masks it
    ],
)
def test_mask_hides_credentials_however_they_were_masked(url, shown):
    assert checks.mask(url) == shown


def test_subid_summary():
    ours = "alice:100000:65536\njenkins:1500:1\njenkins:165536:65536\n"
    assert checks.subid_summary(ours, "jenkins", 1500) == "1500:1 + 65536 ids"
    # useradd's range, not ours: container root would not be the agent.
    assert checks.subid_summary("jenkins:100000:65536\n", "jenkins", 1500) == "100000:65536"
    assert checks.subid_summary("alice:100000:65536\n", "jenkins", 1500) == "no range"
    assert checks.subid_summary("jenkins:1500:1\njenkins:5000:65536\n", "jenkins", 1500) == (
        "1500:1, 5000:65536"
    )


def test_container_state():
    assert checks.container_state({"Status": "exited"}) == "exited"
    assert checks.container_state({"Status": "running"}) == "running, no healthcheck"
    running = {"Status": "running", "Health": {"Status": "starting"}}
    assert checks.container_state(running) == "running, starting"
    assert checks.expected_container_state(AgentContainer(name="a1", image="i")) == (
        "running, healthy"
    )
    spec = AgentContainer(name="a1", image="i", healthcheck=["NONE"])
    assert checks.expected_container_state(spec) == "running, no healthcheck"


def test_every_check_is_documented():
    for name, check in checks.CHECKS.items():
        assert check.__doc__, name


# --- reaching hosts ---------------------------------------------------------------------------

REHEARSAL_DATA = {
    "ssh_hostname": "127.0.0.1",
    "ssh_port": 32782,
    "ssh_user": "root",
    "ssh_key": "/k/rehearsal_ed25519",
    "ssh_strict_host_key_checking": "no",
    "ssh_known_hosts_file": "/dev/null",
    "docker_http_proxy": "http://proxy:3128",
}


def test_target_from_pyinfra_data():
    target = remote.target_from_pyinfra("agent-01", REHEARSAL_DATA)
    assert target == remote.Target(
        name="agent-01",
        address="127.0.0.1",
        user="root",
        port=32782,
        identity_file="/k/rehearsal_ed25519",
        options=("StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"),
    )
    plain = remote.target_from_pyinfra("agent-02.example.com", {"_sudo": True, "ssh_user": "admin"})
    assert plain.address == "agent-02.example.com" and plain.sudo
    assert plain.options == ("StrictHostKeyChecking=accept-new",), "pyinfra's default"


def test_only_ssh_hosts_can_be_checked():
    with pytest.raises(remote.RemoteError, match="only hosts reached over SSH"):
        remote.target_from_pyinfra("@docker/debian:12", {})
    with pytest.raises(remote.RemoteError, match="only hosts reached over SSH"):
        remote.target_from_hostspec("docker://agent")


def test_target_from_testinfra_hostspec():
    assert remote.target_from_hostspec("ssh://admin@agent-01:2222", sudo=True) == remote.Target(
        name="agent-01", address="agent-01", user="admin", port=2222, sudo=True
    )
    target = remote.target_from_hostspec("agent-02", ssh_config="/s/ssh_config")
    assert (target.name, target.user, target.port, target.ssh_config) == (
        "agent-02",
        None,
        None,
        "/s/ssh_config",
    )


def test_ssh_options_and_the_docker_command():
    target = remote.target_from_pyinfra("agent-01", REHEARSAL_DATA)
    options = remote.ssh_options(target)
    assert options[:2] == ["-i", "/k/rehearsal_ed25519"]
    assert "BatchMode=yes" in options and "UserKnownHostsFile=/dev/null" in options
    assert options[-4:] == ["-l", "root", "-p", "32782"]
    command = remote.dial_stdio_command(target, "/tmp/x/master")
    assert command[-5:] == ["127.0.0.1", "--", "docker", "system", "dial-stdio"]
    assert "ControlPath=/tmp/x/master" in command and "ControlMaster=no" in command
    sudo = remote.dial_stdio_command(remote.Target("a", "a", sudo=True), "/c")
    assert sudo[sudo.index("--") + 1 :] == ["sudo", "-n", "docker", "system", "dial-stdio"]


def test_every_connection_to_the_socket_is_served_by_its_own_command(tmp_path):
    # `cat` stands in for `ssh HOST docker system dial-stdio`: bytes go through both ways.
    with remote._unix_socket_server(["cat"], str(tmp_path)) as path:
        for message in (b"GET /info\n", b"GET /version\n"):
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(path)
                client.sendall(message)
                client.shutdown(socket.SHUT_WR)
                assert client.makefile("rb").read() == message
    with socket.socket(socket.AF_UNIX) as client, pytest.raises(ConnectionRefusedError):
        client.connect(path)


def test_a_hostspec_query_is_not_part_of_the_address():
    assert remote.target_from_hostspec("ssh://agent-01?timeout=5").address == "agent-01"

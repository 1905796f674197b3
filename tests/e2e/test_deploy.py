"""The foundation: the real pyinfra CLI converges rehearsal hosts of both releases, then
changes nothing on a second run; bad settings stop the run before any host is touched."""

import json

import pytest

from agenthost.daemon_config import merged, render
from tests.e2e.runner import deploy, write_inventory

HAND_WRITTEN = '{"debug": true, "log-level": "warn"}\n'


def prepare_existing_host(host):
    """What an operator's host may already have: other users, an agent, a daemon.json."""
    for command in [
        "useradd -m alice",
        "groupadd -g 1600 builders",
        "useradd -m -u 1500 -G builders jenkins",
        "useradd -m bob",
        "mkdir -p /etc/docker",
        f"printf '%s' '{HAND_WRITTEN}' > /etc/docker/daemon.json",
    ]:
        host.run_expect([0], command)
    return {
        "subuid": host.file("/etc/subuid").content_string,
        "subgid": host.file("/etc/subgid").content_string,
    }


@pytest.fixture(scope="module")
def existing(hosts, remote):
    return prepare_existing_host(remote[hosts[0].name])


@pytest.fixture(scope="module")
def first_run(hosts, existing):
    return deploy()


@pytest.fixture(scope="module")
def second_run(first_run, remote):
    before = {name: h.check_output("systemctl show docker -p ExecMainPID -p ActiveEnterTimestamp")
              for name, h in remote.items()}
    run = deploy("-v")  # logs each fact it reads
    after = {name: h.check_output("systemctl show docker -p ExecMainPID -p ActiveEnterTimestamp")
             for name, h in remote.items()}
    return run, before, after


def test_first_run_reaches_and_converges_every_host(hosts, first_run):
    assert first_run.returncode == 0, first_run.output
    assert first_run.results["failed_hosts"] == []
    assert first_run.reached() == {h.name for h in hosts}
    assert first_run.changed(), "a first run on fresh hosts must change something"


def test_agent_user_and_docker_engine(hosts, remote, first_run):
    for host in remote.values():
        assert host.user("jenkins").exists
        assert host.package("docker.io").is_installed
        assert host.service("docker").is_running and host.service("docker").is_enabled


def test_daemon_json_comes_from_the_settings(remote, first_run):
    for host in remote.values():
        daemon_json = host.file("/etc/docker/daemon.json")
        assert (daemon_json.user, daemon_json.group, daemon_json.mode) == ("root", "root", 0o644)
        assert daemon_json.content_string == render(merged("jenkins", {}))


def test_userns_remap_maps_container_root_to_the_agent(remote, first_run):
    for host in remote.values():
        uid, gid = host.user("jenkins").uid, host.user("jenkins").gid
        info = json.loads(host.check_output("docker info --format '{{json .}}'"))
        assert "name=userns" in info["SecurityOptions"]
        assert info["DockerRootDir"] == f"/var/lib/docker/{uid}.{gid}"
        assert info["LiveRestoreEnabled"] is True
        assert f"jenkins:{uid}:1\n" in host.file("/etc/subuid").content_string
        assert f"jenkins:{gid}:1\n" in host.file("/etc/subgid").content_string


def test_container_root_writes_files_the_agent_owns_and_deletes(remote, first_run):
    # No registry here: a scratch image borrowing the host's /usr is enough for a shell.
    for host in remote.values():
        host.run_expect([0], "rm -rf /tmp/tiny && mkdir -p /tmp/tiny/usr /tmp/tiny/proc "
                        "/tmp/tiny/sys /tmp/tiny/dev /tmp/tiny/etc /tmp/tiny/tmp && cd /tmp/tiny "
                        "&& ln -s usr/bin bin && ln -s usr/lib lib && ln -s usr/lib64 lib64 "
                        "&& tar -c . | docker import - agenthost-tiny:test")
        host.run_expect([0], "install -d -o jenkins -g jenkins /srv/build")
        host.run_expect([0], "docker run --rm -v /usr:/usr:ro -v /srv/build:/build "
                        "agenthost-tiny:test sh -c 'id -u > /build/made-by-root'")
        made = host.file("/srv/build/made-by-root")
        assert made.content_string.strip() == "0", "the container's own root wrote it"
        assert made.user == "jenkins"
        host.run_expect([0], "su jenkins -c 'rm /srv/build/made-by-root'")
        assert not made.exists


def test_socket_is_0660_root_docker(remote, first_run):
    for host in remote.values():
        socket = host.file("/run/docker.sock")
        assert socket.is_socket
        assert (socket.user, socket.group, socket.mode) == ("root", "docker", 0o660)
        assert "docker" not in host.user("jenkins").groups, "the docker group is root"


def test_existing_host_keeps_users_and_ranges_and_backs_up_daemon_json(
    hosts, remote, existing, first_run
):
    host = remote[hosts[0].name]
    jenkins = host.user("jenkins")
    assert jenkins.uid == 1500 and "builders" in jenkins.groups
    for name in ("subuid", "subgid"):
        now = host.file(f"/etc/{name}").content_string
        for line in existing[name].splitlines(keepends=True):
            if not line.startswith("jenkins:"):
                assert line in now, f"{name}: {line!r} was lost"
        assert now.startswith("alice:") and "\nbob:" in now
    backups = host.check_output("find /var/backups/agenthost -path '*etc/docker/daemon.json'")
    backup = host.file(backups.splitlines()[0])
    assert backup.content_string == HAND_WRITTEN
    assert backup.user == "root"
    top = host.file("/var/backups/agenthost")
    assert (top.user, top.mode) == ("root", 0o700), "backups are root-only"


def test_second_run_changes_nothing_and_restarts_nothing(hosts, second_run):
    run, before, after = second_run
    assert run.returncode == 0, run.output
    assert run.reached() == {h.name for h in hosts}
    assert run.changed() == {}
    assert before == after


def test_a_run_that_changes_nothing_reads_each_host_in_two_round_trips(hosts, second_run):
    """The lock with the system and accounts, then everything else (the applied configuration's
    checksum included): every read comes from those two snapshots."""
    reads = second_run[0].facts_read()
    assert set(reads) == {h.name for h in hosts}
    for name, facts in reads.items():
        assert facts == ["Snapshot", "Snapshot"], (name, facts)


def test_bad_settings_on_one_host_touch_no_host(hosts, remote, second_run, tmp_path):
    good, bad = hosts[0].name, hosts[1].name
    inventory = write_inventory(
        tmp_path / "inventory.py",
        host_data={
            good: {"docker_http_proxy": "http://proxy.invalid:3128"},
            bad: {"docker_source": "snap", "agnet_uid": 1500},
        },
    )
    run = deploy(inventory=inventory)
    assert run.returncode != 0
    assert f"host {bad}: docker_source = 'snap'" in run.output
    assert f"host {bad}: agnet_uid = 1500: unknown setting, did you mean 'agent_uid'?" in run.output
    assert not remote[good].file("/etc/systemd/system/docker.service.d/http-proxy.conf").exists

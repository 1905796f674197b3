"""The Docker daemon's configuration: proxy drop-in, credentials kept secret, one restart only
when dockerd's files changed, and a rollback when dockerd refuses the new configuration."""


import os
import subprocess
import sys

from agenthost import paths
from agenthost.daemon_config import merged, render
from tests.e2e.runner import REPO, SET, STAMP_OP, deploy, write_inventory

DROP_IN = paths.PROXY_DROP_IN
HAND_DROP_IN = "/etc/systemd/system/docker.service.d/by-hand.conf"
PROXY = "http://proxy.invalid:3128"
SECRET_PROXY = "http://builder:s3cr%t@proxy.invalid:3128"
# A `%` that starts no escape is percent-encoded, as a URL must have it (Go's url.Parse, dockerd's
# proxy handling, refuses "%t"): the proxy still gets the password s3cr%t.
SECRET_PROXY_ENCODED = "http://builder:s3cr%25t@proxy.invalid:3128"


def docker_started(host) -> str:
    return host.check_output("systemctl show docker -p ExecMainPID -p ActiveEnterTimestamp")


def test_proxy_drop_in_sets_dockerds_environment(remote, converged, tmp_path):
    data = {"docker_http_proxy": PROXY, "docker_https_proxy": PROXY,
            "docker_no_proxy": ["localhost", "127.0.0.1"]}
    run = deploy(inventory=write_inventory(tmp_path / "inventory.py", data))
    assert run.returncode == 0, run.output
    for host in remote.values():
        environment = host.check_output("systemctl show docker -p Environment")
        assert f"HTTP_PROXY={PROXY}" in environment and f"https_proxy={PROXY}" in environment
        assert "NO_PROXY=localhost,127.0.0.1" in environment
        client = host.file("/home/jenkins/.docker/config.json")
        assert PROXY in client.content_string and client.mode == 0o600
    again_before = {name: docker_started(h) for name, h in remote.items()}
    again = deploy(inventory=write_inventory(tmp_path / "inventory.py", data))
    assert again.changed() == {}
    assert again_before == {name: docker_started(h) for name, h in remote.items()}


def test_proxy_credentials_stay_secret(remote, converged, tmp_path):
    data = {"docker_http_proxy": SECRET_PROXY, "docker_https_proxy": SECRET_PROXY}
    run = deploy("-vvv", inventory=write_inventory(tmp_path / "inventory.py", data))
    assert run.returncode == 0, run.output
    assert "s3cr" not in run.output
    for host in remote.values():
        assert "s3cr" not in host.check_output("systemctl show docker -p Environment")
        assert "s3cr" not in host.file(DROP_IN).content_string
        env_file = host.file("/etc/docker/proxy.env")
        assert (env_file.user, env_file.mode) == ("root", 0o600)
        # systemd reads the file as written: no systemd escaping of `%` there.
        assert f'HTTP_PROXY="{SECRET_PROXY_ENCODED}"' in env_file.content_string
        pid = host.check_output("systemctl show docker -p MainPID --value")
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
        assert f"HTTP_PROXY={SECRET_PROXY_ENCODED}" in environ


def test_proxy_percent_is_escaped_in_the_drop_in(remote, converged, tmp_path):
    data = {"docker_no_proxy": ["100%.example"]}
    run = deploy(inventory=write_inventory(tmp_path / "inventory.py", data))
    assert run.returncode == 0, run.output
    for host in remote.values():
        assert '"NO_PROXY=100%%.example"' in host.file(DROP_IN).content_string
        assert "NO_PROXY=100%.example" in host.check_output("systemctl show docker -p Environment")


def test_unset_proxy_removes_the_drop_in(remote, converged):
    run = deploy()
    assert run.returncode == 0, run.output
    for host in remote.values():
        assert not host.file(DROP_IN).exists
        assert not host.file("/etc/docker/proxy.env").exists
        assert "PROXY" not in host.check_output("systemctl show docker -p Environment")


def test_refused_option_rolls_back_to_the_last_good_configuration(hosts, remote, converged):
    """Everything the failed run changed comes back, a drop-in it removed included."""
    before = {name: h.file("/etc/docker/daemon.json").content_string for name, h in remote.items()}
    for host in remote.values():
        host.check_output(f"printf '[Service]\\nEnvironment=BY_HAND=1\\n' > {HAND_DROP_IN}")
    run = deploy('--data', 'docker_daemon_options={"storage-driver": "agenthost-nonexistent"}')
    assert run.returncode != 0
    for host in hosts:
        said = [line for line in run.output.splitlines() if f"[{host.name}]" in line]
        assert any("the previous files are restored" in line for line in said), run.output
        assert any("driver not supported" in line for line in said), "dockerd's own error"
    for name, host in remote.items():
        assert host.file("/etc/docker/daemon.json").content_string == before[name]
        assert host.service("docker").is_running
        assert "name=userns" in host.check_output("docker info --format '{{.SecurityOptions}}'")
        assert host.file(HAND_DROP_IN).content_string == "[Service]\nEnvironment=BY_HAND=1\n"
        assert "BY_HAND=1" in host.check_output("systemctl show docker -p Environment")
    again = deploy()  # removes the drop-in again, this time for good
    assert again.returncode == 0, again.output
    assert STAMP_OP in again.changed(stamp=True)  # a deploy that changed the host restamps it
    assert set(again.changed()) == {
        "Docker drop-ins | /etc/systemd/system/docker.service.d holds only agenthost's drop-ins",
        "Docker restart | Docker runs the configuration on disk (restarted if needed, else"
        " rolled back)",
    }
    for host in remote.values():
        assert not host.file(HAND_DROP_IN).exists
    assert deploy().changed() == {}


def test_option_dockerd_validate_refuses_never_goes_live(hosts, remote, converged):
    trixie = next(h.name for h in hosts if h.release == "trixie")  # dockerd 26 has --validate
    host = remote[trixie]
    before = host.file("/etc/docker/daemon.json").content_string, docker_started(host)
    run = deploy("--limit", trixie, "--data", 'docker_daemon_options={"mtu": -5}')
    assert run.returncode != 0
    assert "invalid default MTU: -5" in run.output
    assert (host.file("/etc/docker/daemon.json").content_string, docker_started(host)) == before
    assert "agenthost" not in host.check_output("ls -a /etc/docker")  # no candidate left


def drift() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agenthost", "drift", "inventory/rehearsal.py"],
                          cwd=REPO, env={**os.environ, "AGENTHOST_REHEARSAL_SET": SET},
                          capture_output=True, text=True)  # fmt: skip


def test_a_whole_unit_or_a_runtime_drop_in_is_drift_then_backed_up_and_removed(remote, converged):
    """`systemctl edit --full docker` by hand, with a TCP listener, and `systemctl edit --runtime
    docker.socket` with another: drift names both, the next deploy removes them (backups kept) in
    its one restart, and dockerd listens on its socket only."""
    override = "/etc/systemd/system/docker.service"
    runtime = "/run/systemd/system/docker.socket.d/override.conf"
    for host in remote.values():
        host.check_output(
            f"sed 's|^ExecStart=.*|& -H tcp://127.0.0.1:2375|'"
            f" \"$(systemctl show -P FragmentPath docker.service)\" > {override}"
            f" && mkdir -p {os.path.dirname(runtime)}"
            f" && printf '[Socket]\\nListenStream=127.0.0.1:2376\\n' > {runtime}"
            " && systemctl daemon-reload"
        )  # fmt: skip
        assert runtime in host.check_output("systemctl show -P DropInPaths docker.socket")
    found = drift()
    assert found.returncode == 2, found.stdout + found.stderr
    assert f"No whole unit {override} replaces the packaged one" in found.stdout
    assert runtime in found.stdout, found.stdout
    run = deploy()
    assert run.returncode == 0, run.output
    for host in remote.values():
        for path in (override, runtime):
            assert not host.file(path).exists
            assert host.check_output(f"ls {paths.BACKUP_DIR}/*{path}")  # the person's file kept
        assert "tcp://" not in host.check_output("systemctl show -P ExecStart docker.service")
        assert "2376" not in host.check_output("systemctl show -P Listen docker.socket")
        assert host.service("docker").is_running
    assert deploy().changed() == {}
    quiet = drift()
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr


def test_daemon_json_is_the_default_again(remote):
    for host in remote.values():
        assert host.file("/etc/docker/daemon.json").content_string == render(merged("jenkins", {}))

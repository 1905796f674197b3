"""The nightly drift check on three rehearsal hosts of its own (Debian 12, 12, 13).

Converged by the real pyinfra CLI, no host drifts. One host edited by hand drifts in exactly the
edited items, the others stay clean, and checking changes no file. A new deploy makes it clean
again, and a host that is down is named as not checked. The testinfra suite (`agenthost verify`)
passes and fails on the same hosts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import docker
import pytest

from agenthost import paths
from agenthost.docker_policy import CONFIG_DIR as POLICY_DIR
from agenthost.lab import engine, rehearsal
from tests.e2e.runner import PYINFRA, REPO, SET_PREFIX, rehearsal_hosts

SET = f"{SET_PREFIX}drift"
AGENT_IMAGE = "agenthost-drift/agent:1"
PROXY_PASSWORD = "Dr1ftPr0xyPass"
AGENT_TOKEN = "Dr1ftAgentT0ken"
SETTINGS = {
    "docker_http_proxy": f"http://builder:{PROXY_PASSWORD}@proxy.invalid:3128",
    "docker_https_proxy": "http://proxy.invalid:3128",
    "docker_no_proxy": ["localhost", "127.0.0.1"],
    "docker_apt_proxy": False,  # apt needs the real mirror
}
# Only what dockerd, the agent's groups and its container need: the rest stays as deployed.
# The Docker policy loosened, stopped and bypassed (the agent in the docker group) too.
EDITS = [
    """sed -i 's/"icc": false/"icc": true/' /etc/docker/daemon.json""",
    "gpasswd -a jenkins docker",
    f"rm {paths.PROXY_DROP_IN}",
    "docker stop agent",
    f"""sed -i 's/"privileged": false/"privileged": true/' {POLICY_DIR}/account.json""",
    "systemctl stop agenthost-docker-policy@container-agent.socket",
]
# The deploy's operations those edits undo, by a word of their names, and the host suite's
# tests that see them.
# Docker's own restart counts too: the daemon no longer runs what is on disk.
EDITED_OPERATIONS = ("daemon.json", "proxy drop-in", "docker group", "Agent container agent",
                     "Docker runs the configuration on disk", "only through the policy",
                     "container-agent.sock is listening")  # fmt: skip
EDITED_CHECKS = {"test_files", "test_docker_group", "test_agent_containers_run", "test_units"}
HOST_SUITE_TESTS = 9  # per host
MARKER = "/tmp/agenthost-drift-marker"
WATCHED = "/etc /home /root /usr /opt /var/lib/agenthost /var/backups"

# A tiny agent image from the build machine's busybox (no registry here); its healthcheck is
# patient, as this machine is shared and sometimes slow.
DOCKERFILE = """FROM scratch
COPY rootfs/ /
HEALTHCHECK --interval=3s --timeout=30s --retries=10 CMD ["/bin/true"]
CMD ["/bin/sleep", "1000000"]
"""


def build_agent_image(directory: Path) -> Path:
    root = directory / "rootfs"
    # Debian's busybox is static on some releases: then ldd names no library (and exits 1).
    libraries = subprocess.run(["ldd", "/usr/bin/busybox"], capture_output=True,
                               text=True).stdout.split()  # fmt: skip
    for path in ["/usr/bin/busybox", *(word for word in libraries if word.startswith("/"))]:
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / path.lstrip("/"))
    (root / "bin").mkdir(exist_ok=True)
    for applet in ("sh", "sleep", "true"):
        (root / "bin" / applet).symlink_to("/usr/bin/busybox")
    (directory / "Dockerfile").write_text(DOCKERFILE)
    client = docker.from_env()
    client.images.build(path=str(directory), tag=AGENT_IMAGE, rm=True)
    tarball = directory / "agent.tar"
    with tarball.open("wb") as out:
        for chunk in client.images.get(AGENT_IMAGE).save(named=True):
            out.write(chunk)
    return tarball


@pytest.fixture(scope="module")
def drift_hosts() -> list[rehearsal.Host]:
    with rehearsal_hosts(SET, {"bookworm": 2, "trixie": 1}) as hosts:
        yield hosts


@pytest.fixture(scope="module")
def inventory(drift_hosts, tmp_path_factory) -> Path:
    """An operator's inventory of the set: a proxy with credentials, an agent with a secret."""
    directory = tmp_path_factory.mktemp("drift")
    env_file = directory / "agent.env"
    env_file.write_text(f"AGENT_TOKEN={AGENT_TOKEN}\n")
    agent = {"name": "agent", "image": AGENT_IMAGE, "env_file": str(env_file),
             "memory": "256m", "cpus": 0.5, "stop_timeout": 10}  # fmt: skip
    data = {**SETTINGS, "docker_image_preload": [str(build_agent_image(directory))],
            "agent_containers": [agent]}  # fmt: skip
    path = directory / "inventory.py"
    path.write_text(
        "from agenthost.lab.rehearsal import inventory_groups, load_hosts\n"
        f"rehearsal = (inventory_groups(load_hosts({SET!r}))['rehearsal'], {data!r})\n"
    )
    return path


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def ssh(host: rehearsal.Host, command: str) -> str:
    config = rehearsal.state_dir(SET) / "ssh_config"
    process = subprocess.run(["ssh", "-F", str(config), host.name, command],
                             capture_output=True, text=True)  # fmt: skip
    assert process.returncode == 0, f"{host.name}: {command}: {process.stderr}"
    return process.stdout


def deploy(inventory: Path, hosts: list[rehearsal.Host]) -> None:
    process = run(PYINFRA, "-y", str(inventory), "deploy.py")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    for host in hosts:  # the agent's healthcheck needs a moment after a (re)start
        deadline = time.monotonic() + 90
        while ssh(host, "docker inspect -f '{{.State.Health.Status}}' agent").strip() != "healthy":
            assert time.monotonic() < deadline, f"{host.name}: agent not healthy"
            time.sleep(2)


class Drift:
    """One run of `python -m agenthost drift` with both reports."""

    def __init__(self, inventory: Path, directory: Path, *options: str):
        json_file, junit_file = directory / "drift.json", directory / "drift.xml"
        process = run(sys.executable, "-m", "agenthost", "drift", str(inventory), *options,
                      "--json", str(json_file), "--junit", str(junit_file))  # fmt: skip
        self.returncode, self.output = process.returncode, process.stdout + process.stderr
        assert json_file.exists() and junit_file.exists(), self.output
        self.json_text, self.junit_text = json_file.read_text(), junit_file.read_text()
        self.hosts = {host["name"]: host for host in json.loads(self.json_text)["hosts"]}

    def drifted(self, host: str) -> dict[str, tuple[str, str]]:
        items = self.hosts[host]["items"]
        return {i["name"]: (i["expected"], i["actual"]) for i in items if not i["ok"]}

    def junit_failures(self) -> set[tuple[str, str]]:
        root = ET.fromstring(self.junit_text.split("\n", 1)[1])
        return {(suite.get("name"), case.get("name")) for suite in root
                for case in suite if case.find("failure") is not None}  # fmt: skip


def host_suite(directory: Path, *options: str) -> tuple[int, set[str], str]:
    """`agenthost verify INVENTORY ...`: exit code, names of the tests that did not pass,
    output."""
    junit = directory / "host-suite.xml"
    process = run(sys.executable, "-m", "agenthost", "verify", *options, "--junit", str(junit))
    failed = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None}  # fmt: skip
    return process.returncode, failed, process.stdout + process.stderr


def failed_checks(failed: set[str], host: str) -> set[str]:
    """The tests that failed on `host`, from names such as test_files[HOST]."""
    return {name.split("[")[0] for name in failed if f"[{host}" in name}


@pytest.fixture(scope="module")
def converged(drift_hosts, inventory):
    deploy(inventory, drift_hosts)


def test_the_default_pytest_run_does_not_collect_the_host_suite():
    process = run(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert process.returncode == 0, process.stdout[-2000:]
    assert "tests/e2e/test_drift.py" in process.stdout
    assert "agenthost/verify" not in process.stdout


def test_converged_hosts_do_not_drift(drift_hosts, inventory, converged, tmp_path):
    drift = Drift(inventory, tmp_path)
    assert drift.returncode == 0, drift.output
    for host in drift_hosts:
        assert drift.hosts[host.name]["status"] == "clean"
        assert f"{host.name}: no drift" in drift.output
    assert drift.junit_failures() == set()


def test_host_suite_passes_on_converged_hosts(drift_hosts, inventory, converged, tmp_path):
    code, failed, output = host_suite(tmp_path, str(inventory))
    assert code == 0 and not failed, output[-3000:]
    assert f"{len(drift_hosts) * HOST_SUITE_TESTS} passed" in output
    code, failed, output = host_suite(tmp_path, str(inventory), "--limit", drift_hosts[0].name)
    assert code == 0 and f"{HOST_SUITE_TESTS} passed" in output, output[-3000:]
    # The same hosts reached testinfra's way, with the inventory's settings.
    hosts = ",".join(f"ssh://{host.name}" for host in drift_hosts)
    ssh_config = str(rehearsal.state_dir(SET) / "ssh_config")
    code, failed, output = host_suite(tmp_path, str(inventory), "--hosts", hosts,
                                      "--ssh-config", ssh_config)  # fmt: skip
    assert code == 0 and not failed, output[-3000:]


@pytest.fixture(scope="module")
def edited(drift_hosts, converged) -> rehearsal.Host:
    """The Debian 13 host, edited by hand; then a marker for what changes from here on."""
    host = drift_hosts[-1]
    for command in EDITS:
        ssh(host, command)
    for each in drift_hosts:
        ssh(each, f"touch {MARKER}")
    time.sleep(1)  # so that a change right after the marker is newer than it
    return host


def changed_files(host: rehearsal.Host) -> list[str]:
    newer = f"\\( -newer {MARKER} -o -cnewer {MARKER} \\)"
    return ssh(host, f"find {WATCHED} {newer} -print 2>/dev/null || true").split()


def test_drift_names_exactly_the_edited_host_and_items(drift_hosts, inventory, edited, tmp_path):
    drift = Drift(inventory, tmp_path)
    assert drift.returncode == 2, drift.output
    others = [host.name for host in drift_hosts if host != edited]
    not_clean = {name for name, host in drift.hosts.items() if host["status"] != "clean"}
    assert not_clean == {edited.name}, drift.output
    assert f"{edited.name}: DRIFTED" in drift.output
    drifted = sorted(drift.drifted(edited.name))
    assert len(drifted) == len(EDITED_OPERATIONS), drifted
    for word in EDITED_OPERATIONS:
        assert any(word in name for name in drifted), (word, drifted)
    assert {host for host, _ in drift.junit_failures()} == {edited.name}
    for name in others:
        assert f"{name}: no drift" in drift.output
    # Secrets: the proxy password and the agent's env file are never shown.
    for text in (drift.output, drift.json_text, drift.junit_text):
        assert PROXY_PASSWORD not in text and AGENT_TOKEN not in text
    for host in drift_hosts:
        assert changed_files(host) == [], f"{host.name}: the check changed files"


def test_host_suite_fails_on_the_edited_host_only(drift_hosts, inventory, edited, tmp_path):
    code, failed, output = host_suite(tmp_path, str(inventory))
    assert code == 1, output[-3000:]
    assert failed_checks(failed, edited.name) == EDITED_CHECKS
    assert len(failed) == len(EDITED_CHECKS), sorted(failed)
    assert PROXY_PASSWORD not in output and AGENT_TOKEN not in output
    for host in drift_hosts:
        assert changed_files(host) == []


def test_drift_needs_no_local_secret_or_tarball_and_can_be_limited(
    drift_hosts, inventory, converged, tmp_path
):
    """A machine that only checks the fleet has neither the agent's env file nor the tarball."""
    hidden = [p for p in inventory.parent.iterdir() if p.name in ("agent.env", "agent.tar")]
    for path in hidden:
        path.rename(f"{path}.away")
    try:
        drift = Drift(inventory, tmp_path, "--limit", drift_hosts[0].name)
    finally:
        for path in hidden:
            Path(f"{path}.away").rename(path)
    assert drift.returncode == 0, drift.output
    assert list(drift.hosts) == [drift_hosts[0].name]
    assert "not checked" in drift.output and "(the env_file is not on this machine)" in drift.output


def test_a_new_deploy_ends_the_drift(drift_hosts, inventory, edited, tmp_path):
    deploy(inventory, drift_hosts)
    drift = Drift(inventory, tmp_path)
    assert drift.returncode == 0, drift.output


def test_a_host_that_is_down_is_named_as_not_checked(drift_hosts, inventory, converged, tmp_path):
    down = drift_hosts[0]
    engine.ensure_engine().containers.get(down.name).stop(timeout=20)
    drift = Drift(inventory, tmp_path)
    assert drift.returncode == 1, drift.output
    assert f"{down.name}: NOT CHECKED" in drift.output
    assert drift.hosts[down.name]["status"] == "unchecked"
    assert "Could not connect" in drift.hosts[down.name]["error"], drift.output
    others = [host["status"] for name, host in drift.hosts.items() if name != down.name]
    assert others == ["clean"] * 2, drift.output

"""The nightly drift check on three rehearsal hosts of its own (Debian 12, 12, 13).

Converged by the real pyinfra CLI, no host drifts. One host edited by hand drifts in exactly the
edited items, each showing both sides in the table, JSON and JUnit (and in the Prometheus
textfile's counts), no secret anywhere; the others stay clean, and checking changes no file.
Three shards report exactly what one run reports. A new deploy makes it clean again, a deploy
that changes nothing leaves the stamp alone, `agenthost status` shows each host's real values,
and a host that is down is named by both. The testinfra suite (`agenthost verify`) passes and
fails on the same hosts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from agenthost import __version__, desired, paths
from agenthost.docker_policy import CONFIG_DIR as POLICY_DIR
from agenthost.settings import Settings
from agenthost_lab import engine, state
from tests.e2e import runner
from tests.e2e.drift_support import (
    AGENT_IMAGE,
    MARKER,
    SET,
    Drift,
    both_sides_in_junit,
    build_agent_image,
    changed_files,
    deploy,
    failed_checks,
    host_suite,
    run,
    ssh,
    status,
)
from tests.e2e.runner import rehearsal_hosts

PROXY_PASSWORD = "Dr1ftPr0xyPass"
AGENT_TOKEN = "Dr1ftAgentT0ken"
SETTINGS = {
    "docker_http_proxy": f"http://builder:{PROXY_PASSWORD}@proxy.invalid:3128",
    "docker_https_proxy": "http://proxy.invalid:3128",
    "docker_no_proxy": ["localhost", "127.0.0.1"],
    "docker_apt_proxy": False,  # apt needs the real mirror
}
# Each kind of hand change: the command, a word of the operation that undoes it, and what its
# item must show of both sides (in the table, JSON and JUnit). Only what dockerd, the agent's
# groups and its container need: the rest stays as deployed. The Docker policy loosened, stopped
# and bypassed (the agent in the docker group) too.
CONTEXT_META = desired.docker_context(Settings(), desired.Account("/home/jenkins", "jenkins")).path
EDITS = [
    ("""sed -i 's/"icc": false/"icc": true/' /etc/docker/daemon.json""", "daemon.json",
     ['-  "icc": true,', '+  "icc": false,']),
    ("gpasswd -a jenkins docker", "docker group", ["exactly none", "extra: jenkins"]),
    (f"rm {paths.PROXY_DROP_IN}", "proxy drop-in", ["present, 0644 root:root", "absent"]),
    ("docker stop agent", "Agent container agent", ["running", "exited"]),
    (f"""sed -i 's/"privileged": false/"privileged": true/' {POLICY_DIR}/account.json""",
     "only through the policy", ['-    "privileged": true,', '+    "privileged": false,']),
    ("systemctl stop agenthost-docker-policy@container-agent.socket",
     "container-agent.sock is listening", ["active, enabled", "inactive, enabled"]),
    (f"chmod 0600 {CONTEXT_META}", "docker uses its policy socket",
     ["0600 jenkins:jenkins, wants 0644 jenkins:jenkins"]),
    (f"sed -i s/builder/bu1lder/ {paths.PROXY_ENV_FILE}", "proxy credentials are root-only",
     ["content differs"]),
    ("echo jenkins:5000:10 >> /etc/subuid", "/etc/subuid maps", ["in the way: jenkins:5000:10"]),
]
# Docker's own restart counts too, with the option it runs that the edited file no longer says.
RESTART = ("Docker runs the configuration on disk", ["icc: runs false, daemon.json has true"])
EDITED_OPERATIONS = (*(word for _, word, _ in EDITS), RESTART[0])
EDITED_CHECKS = {"test_files", "test_docker_group", "test_agent_containers_run", "test_units",
                 "test_subordinate_ids"}
HOST_SUITE_TESTS = 11  # per host

@pytest.fixture(scope="module")
def drift_hosts() -> list[state.Host]:
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
        "from agenthost_lab.state import inventory_groups, load_hosts\n"
        f"rehearsal = (inventory_groups(load_hosts({SET!r}))['rehearsal'], {data!r})\n"
    )
    return path


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
    ssh_config = str(state.state_dir(SET) / "ssh_config")
    code, failed, output = host_suite(tmp_path, str(inventory), "--hosts", hosts,
                                      "--ssh-config", ssh_config)  # fmt: skip
    assert code == 0 and not failed, output[-3000:]


@pytest.fixture(scope="module")
def edited(drift_hosts, converged) -> state.Host:
    """The Debian 13 host, edited by hand; then a marker for what changes from here on."""
    host = drift_hosts[-1]
    for command, _, _ in EDITS:
        ssh(host, command)
    for each in drift_hosts:
        ssh(each, f"touch {MARKER}")
    time.sleep(1)  # so that a change right after the marker is newer than it
    return host


@pytest.fixture(scope="module")
def edited_drift(inventory, edited, tmp_path_factory) -> Drift:
    return Drift(inventory, tmp_path_factory.mktemp("edited"))


def test_drift_names_exactly_the_edited_host_and_items(drift_hosts, edited, edited_drift):
    drift = edited_drift
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


def test_each_hand_change_shows_both_sides_everywhere(edited, edited_drift):
    """In the table, the JSON (expected, actual, diff) and the JUnit failure (message, text)."""
    drift, junit = edited_drift, both_sides_in_junit(edited_drift.junit_text, edited.name)
    items = {i["name"]: i for i in drift.hosts[edited.name]["items"] if not i["ok"]}
    for word, shown in [*((w, s) for _, w, s in EDITS), RESTART]:
        name = next(name for name in items if word in name)
        item = items[name]
        in_json = " ".join([item["expected"], item["actual"],
                            *(f"{d['actual']}, wants {d['expected']} {d['diff']}"
                              for d in item["differences"])])  # fmt: skip
        for text in shown:
            assert text in in_json, (name, text, item)
            assert text in junit[name], (name, text, junit[name])
            assert text in drift.output, (name, text)
    # Nothing of a secret file's content, on either side.
    secret = items[next(n for n in items if "proxy credentials" in n)]
    assert secret["differences"][0]["diff"] == "" and "bu1lder" not in drift.output


def test_metrics_of_the_edited_run_parse_and_count_its_drift(drift_hosts, edited, edited_drift):
    from prometheus_client.parser import text_string_to_metric_families

    found = {(s.name, s.labels.get("host")): s for f in text_string_to_metric_families(
        edited_drift.prometheus.read_text()) for s in f.samples}  # fmt: skip
    for host in drift_hosts:
        drifted = len(edited_drift.drifted(host.name))
        assert found[("agenthost_drift_items", host.name)].value == drifted
        assert found[("agenthost_drift_host_checked", host.name)].value == 1
        version = ssh(host, "dpkg-query -W -f '${Version}' docker.io").strip()
        assert found[("agenthost_engine_info", host.name)].labels["version"] == version
    assert PROXY_PASSWORD not in edited_drift.prometheus.read_text()


def test_three_shards_report_exactly_what_one_run_reports(inventory, edited_drift, tmp_path):
    shards = [Drift(inventory, tmp_path, "--shard", f"{k}/3", name=f"shard-{k}")
              for k in (1, 2, 3)]  # fmt: skip
    hosts = {name: host for shard in shards for name, host in shard.hosts.items()}
    assert sum(len(shard.hosts) for shard in shards) == len(hosts) == len(edited_drift.hosts)
    assert hosts == edited_drift.hosts
    assert max(shard.returncode for shard in shards) == edited_drift.returncode


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


def test_a_deploy_that_changes_nothing_leaves_the_stamp_as_it_was(drift_hosts, inventory,
                                                                 converged):
    stamps = {host.name: ssh(host, f"cat {paths.DEPLOY_STAMP}") for host in drift_hosts}
    again = runner.deploy(inventory=inventory)
    assert again.returncode == 0 and again.changed() == {}, again.output[-3000:]
    assert stamps == {host.name: ssh(host, f"cat {paths.DEPLOY_STAMP}") for host in drift_hosts}
    assert all(json.loads(stamp)["version"] == __version__ for stamp in stamps.values())


def test_status_shows_each_host_s_real_values(drift_hosts, inventory, converged, tmp_path):
    statuses = status(inventory, tmp_path)
    assert statuses.returncode == 0, statuses.stdout + statuses.stderr
    lines = statuses.stdout.splitlines()
    for host in drift_hosts:
        found = statuses.hosts[host.name]
        os_name = ssh(host, ". /etc/os-release; echo $PRETTY_NAME").strip()
        root = ssh(host, "docker info --format '{{.DockerRootDir}}'").strip()
        free, size = map(int, ssh(host, f"df -P -B1 {root} | awk 'NR==2 {{print $4, $2}}'").split())
        assert (found["os"], found["kernel"], found["docker_root"]) == (
            os_name, ssh(host, "uname -r").strip(), root)
        version = ssh(host, "dpkg-query -W -f '${Version}' docker.io").strip()
        assert found["engine"] == f"distro {version}" and found["userns_remap"]
        assert found["agents_running"] == found["agents_wanted"] == ["agent"]
        # The disk is shared with other builds: free space moves between two reads.
        assert found["size_bytes"] == size and abs(found["free_bytes"] - free) < size / 20
        assert found["deployed"]["version"] == __version__
        assert not found["deployed"]["settings_changed"]
        line = next(line for line in lines if line.startswith(f"{host.name}: "))
        assert f"kernel {found['kernel']}" in line and "agents 1/1 running" in line, line
        assert "settings unchanged" in line and "userns-remap on" in line, line


def test_a_host_that_is_down_is_named_as_not_checked(drift_hosts, inventory, converged, tmp_path):
    down = drift_hosts[0]
    engine.ensure_engine().containers.get(down.name).stop(timeout=20)
    statuses = status(inventory, tmp_path)
    assert statuses.returncode == 1 and f"{down.name}: DOWN: Could not connect" in statuses.stdout
    drift = Drift(inventory, tmp_path)
    assert drift.returncode == 1, drift.output
    assert f"{down.name}: NOT CHECKED" in drift.output
    assert drift.hosts[down.name]["status"] == "unchecked"
    assert "Could not connect" in drift.hosts[down.name]["error"], drift.output
    others = [host["status"] for name, host in drift.hosts.items() if name != down.name]
    assert others == ["clean"] * 2, drift.output

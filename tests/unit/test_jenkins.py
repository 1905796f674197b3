"""Jenkins on agenthost hosts: the agent's identity in containers, the socket ACL, inbound
agents, Java, known_hosts lines and the pipeline replay's parsing."""

import argparse

import pytest
from pydantic import ValidationError
from pyinfra.api import OperationError

from agenthost import desired, engine, subids
from agenthost.agent_container import (
    SECRET_MOUNT,
    HostIds,
    env_file_content,
    inbound_secret,
    run_args,
)
from agenthost.known_hosts import address, known_hosts_lines
from agenthost.operations.accounts import subid_file
from agenthost.settings import AgentContainer, Settings, java_major, java_package_major
from agenthost.tasks.agent_access import JavaMajor, java_at_least
from agenthost.tasks.agent_containers import AgentContainers, agent_container
from agenthost_lab import pipeline
from tests.unit.harness import run_op

TRIXIE = engine.System("debian", "13", "trixie")

IDS = HostIds(uid=1000, gid=1000)
SOCKET = "/run/agenthost-docker/container-ci.sock"
WORKSPACE = "/var/lib/agenthost/workspace"
USERADD = "alice:100000:65536\njenkins:165536:65536\n"
SECRET_FILE = "/var/lib/agenthost/agent-secrets/inbound.jenkins-secret"


def values(args, option):
    return [args[i + 1] for i, arg in enumerate(args) if arg == option]


# --- the agent's identity in containers -------------------------------------------------------

def test_uid_mode_maps_the_agents_own_id_to_itself_and_root_to_the_second_range():
    text = subids.agent_lines(USERADD, "jenkins", 1000, 65536, "uid")
    # Docker keeps this order: container 0-999 -> 165536.., 1000 -> 1000, 1001.. -> 166536..
    assert text == ("alice:100000:65536\n"
                    "jenkins:165536:1000\njenkins:1000:1\njenkins:166536:64536\n")  # fmt: skip
    assert subids.agent_lines(text, "jenkins", 1000, 65536, "uid") == text


def test_switching_modes_keeps_the_agents_range():
    root = subids.agent_lines(USERADD, "jenkins", 1000, 65536, "root")
    uid = subids.agent_lines(root, "jenkins", 1000, 65536, "uid")
    assert "jenkins:165536:1000\n" in uid
    assert subids.agent_lines(uid, "jenkins", 1000, 65536, "root") == root


def test_uid_mode_needs_the_uid_inside_the_mapped_ids():
    with pytest.raises(subids.SubIdError, match="docker_userns_agent: uid"):
        subids.agent_lines(USERADD, "jenkins", 70000, 65536, "uid")


def test_subid_file_writes_the_uid_mode_lines():
    path = "/etc/subuid"
    facts = {"UserAccount": {"jenkins": {"uid": 1000, "gid": 1000}},
             "FileContents": {path: USERADD.splitlines()},
             "ManagedFileState": {path: {"mode": 644, "user": "root", "group": "root",
                                         "sha256": "old"}}}  # fmt: skip
    result = run_op(subid_file, facts, path=path, user="jenkins", count=65536, mode="uid")
    assert any(f"cp -p {path}" in c for c in result.commands), "the old file is backed up first"
    (written,) = result.uploads.values()  # beside the file, then renamed over it
    assert written == subids.agent_lines(USERADD, "jenkins", 1000, 65536, "uid")


@pytest.mark.parametrize(
    ("mode", "user", "group_add"),
    [("root", ["0:0"], []), ("uid", ["1000:1000"], []), (None, ["1000:1000"], [])],
)
def test_agent_containers_run_remapped_as_the_agent(mode, user, group_add):
    args = run_args(AgentContainer(name="ci", image="i"), IDS, WORKSPACE, mode, None, SOCKET)
    assert "--userns" not in args
    assert values(args, "--user") == user
    assert values(args, "--group-add") == group_add


def test_userns_agent_follows_both_settings():
    assert Settings().userns_agent == "root"
    assert Settings(docker_userns_agent="uid").userns_agent == "uid"
    assert Settings(docker_userns_remap=False, docker_userns_agent="uid").userns_agent is None
    with pytest.raises(ValidationError, match="'root' or 'uid'"):
        Settings(docker_userns_agent="jenkins")


@pytest.mark.parametrize("remap", [True, False])
def test_the_socket_is_root_and_docker_only_in_every_mode(remap):
    drop_in = desired.socket_drop_in(Settings(docker_userns_remap=remap)).content
    assert "SocketMode=0660" in drop_in and "SocketGroup=docker" in drop_in
    assert "setfacl" not in drop_in
    assert "jenkins" not in desired.docker_group(Settings(docker_userns_remap=remap))


def test_agent_containers_are_read_with_their_state():
    # Which of them docker_applied stops before a restart: tests/unit/test_docker_apply.py
    assert AgentContainers().process(["ci-agent running", "old exited"]) == {
        "ci-agent": "running", "old": "exited",
    }  # fmt: skip


# --- Jenkins inbound agents ---------------------------------------------------------------------

def inbound(tmp_path, **changes):
    secret = tmp_path / "inbound.env"
    secret.write_text("JENKINS_SECRET=abc\n")
    return AgentContainer(name="inbound", image="jenkins/inbound-agent:latest-jdk17",
                          kind="jenkins-inbound", env_file=str(secret), **changes)  # fmt: skip


def test_inbound_agent_runs_with_init_and_the_workspace_as_its_work_dir(tmp_path):
    args = run_args(inbound(tmp_path), IDS, WORKSPACE, "root", "/etc/agenthost/inbound.env", SOCKET)
    assert "--init" in args
    assert values(args, "--env") == [f"JENKINS_AGENT_WORKDIR={WORKSPACE}"]
    assert values(args, "--env-file") == ["/etc/agenthost/inbound.env"]
    own = run_args(inbound(tmp_path, environment={"JENKINS_AGENT_WORKDIR": "/w"}), IDS,
                   WORKSPACE, "root", None, SOCKET)  # fmt: skip
    assert values(own, "--env") == ["JENKINS_AGENT_WORKDIR=/w"]
    dood = AgentContainer(name="ci", image="i")
    assert "--init" not in run_args(dood, IDS, WORKSPACE, None, None, SOCKET)


def test_inbound_agent_gets_the_proxies_in_its_root_only_env_file(tmp_path):
    proxies = {"HTTPS_PROXY": "http://u:p@proxy:3128", "https_proxy": "http://u:p@proxy:3128"}
    content = env_file_content("JENKINS_SECRET=abc", inbound(tmp_path), proxies)
    assert content == ("JENKINS_SECRET=abc\nHTTPS_PROXY=http://u:p@proxy:3128\n"
                       "https_proxy=http://u:p@proxy:3128\n")  # fmt: skip
    args = run_args(inbound(tmp_path), IDS, WORKSPACE, "root", "/etc/agenthost/inbound.env", SOCKET)
    assert "proxy" not in " ".join(args), "credentials stay out of the arguments"
    assert env_file_content("A=1\n", AgentContainer(name="ci", image="i"), proxies) == "A=1\n"


def test_the_inbound_secret_is_a_file_mounted_read_only_never_in_the_environment():
    env, secret = inbound_secret("JENKINS_URL=https://j/\nJENKINS_SECRET=s3cr3t\nA=1\n")
    assert secret == "s3cr3t" and "s3cr3t" not in env
    assert env == f"JENKINS_URL=https://j/\nJENKINS_SECRET=@{SECRET_MOUNT}\nA=1\n"
    assert inbound_secret("A=1\n") == ("A=1\n", None)
    spec = AgentContainer(name="inbound", image="agent:1", kind="jenkins-inbound", env_file="e")
    facts = {"UserAccount": {"jenkins": {"uid": 1001, "gid": 1001}},
             "DockerImage": {"agent:1": [{"Id": "sha256:i"}]}, "ContainerSpec": {"inbound": None},
             "Sha256File": {"/etc/agenthost/inbound.env": "e" * 64, SECRET_FILE: "s" * 64}}
    run = run_op(agent_container, facts, spec=spec, user="jenkins", workspace=WORKSPACE,
                 userns_agent="root", socket=SOCKET, env_file="/etc/agenthost/inbound.env",
                 secret_file=SECRET_FILE)  # fmt: skip
    assert f"--volume {SECRET_FILE}:{SECRET_MOUNT}:ro" in run.commands[0]
    # Drift, without the env_file: both host copies stand for it, a changed secret recreates.
    changed = run_op(agent_container, {**facts, "Sha256File": {**facts["Sha256File"],
                                                               SECRET_FILE: "t" * 64}},
                     spec=spec, user="jenkins", workspace=WORKSPACE, userns_agent="root",
                     socket=SOCKET, env_file="/etc/agenthost/inbound.env",
                     secret_file=SECRET_FILE)  # fmt: skip
    labels = [c.split("agenthost.spec=")[1].split()[0] for c in (run.commands + changed.commands)]
    assert labels[0] != labels[1]


def test_inbound_agent_secret_comes_from_env_file_only(tmp_path):
    with pytest.raises(ValidationError, match="needs env_file"):
        AgentContainer(name="inbound", image="i", kind="jenkins-inbound")
    with pytest.raises(ValidationError, match="JENKINS_SECRET belongs in env_file"):
        inbound(tmp_path, environment={"JENKINS_SECRET": "abc"})


# --- Java for SSH agents ------------------------------------------------------------------------

@pytest.mark.parametrize("package", ["openjdk-11-jre-headless", "openjdk-8-jdk", "temurin-11-jre",
                                     "java-1.8.0-openjdk", "zulu11-jre"])  # fmt: skip
def test_known_too_old_java_packages_are_refused(package):
    with pytest.raises(ValidationError, match="Java 17 or newer"):
        Settings(agent_java=package)


@pytest.mark.parametrize("package", ["openjdk-17-jre-headless", "default-jre-headless",
                                     "temurin-21-jre", "openjdk-25-jdk"])  # fmt: skip
def test_java_17_and_unversioned_packages_pass(package):
    assert Settings(agent_java=package).agent_java == package
    assert java_package_major(package) in (None, 17, 21, 25)


def test_java_version_output():
    assert java_major('openjdk version "17.0.13" 2024-10-15') == 17
    assert java_major('java version "1.8.0_392"') == 8
    assert JavaMajor().process(["bash: line 1: java: command not found"]) is None


def test_java_check_on_the_host():
    args = {"minimum": 17, "package": "default-jre-headless"}
    result = run_op(java_at_least, {"JavaMajor": 21}, executing=True, **args)
    assert result.commands == [] and result.noops == ["java is Java 21"]
    with pytest.raises(OperationError, match="Java 11 on agent-01.* need Java 17 or newer"):
        run_op(java_at_least, {"JavaMajor": 11}, executing=True, **args)
    with pytest.raises(OperationError, match="no java on the PATH"):
        run_op(java_at_least, {"JavaMajor": None}, executing=True, **args)
    planned = run_op(java_at_least, {"JavaMajor": None}, **args)
    assert len(planned.commands) == 1, "planned: checked once the package is installed"


# --- known_hosts --------------------------------------------------------------------------------

def test_known_hosts_names_hosts_as_the_inventory_connects():
    assert address("agent-01", {}) == "agent-01"
    assert address("agent-01", {"ssh_hostname": "10.0.0.5", "ssh_port": 22}) == "10.0.0.5"
    assert address("agent-01", {"ssh_hostname": "127.0.0.1", "ssh_port": 2222}) == (
        "[127.0.0.1]:2222"
    )
    keys = "ssh-ed25519 AAAA1 root@h\necdsa-sha2-nistp256 AAAA2 root@h\n\nnot a key\n"
    assert known_hosts_lines("[h]:2222", keys) == [
        "[h]:2222 ssh-ed25519 AAAA1", "[h]:2222 ecdsa-sha2-nistp256 AAAA2"
    ]  # fmt: skip


def test_known_hosts_leaves_out_a_retired_host(monkeypatch, capsys, tmp_path):
    from agenthost import known_hosts

    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data/old.yaml").write_text("agent_retired: true\n")
    monkeypatch.chdir(tmp_path)
    hosts = [{"name": "a", "groups": [], "data": {}}, {"name": "b", "groups": [], "data": {}},
             {"name": "c", "groups": ["old"], "data": {}}]  # fmt: skip
    hosts[1]["data"]["agent_retired"] = True
    monkeypatch.setattr(known_hosts, "inventory_hosts", lambda inventory: hosts)
    monkeypatch.setattr(known_hosts, "host_keys", lambda inventory: dict.fromkeys("abc", KEY))
    assert known_hosts._run(argparse.Namespace(inventory="inv.py")) == 0
    out, err = capsys.readouterr()
    assert out == "a ssh-ed25519 AAAA1\n"
    assert "b: retired (agent_retired), not listed" in err and "c: retired" in err


KEY = "ssh-ed25519 AAAA1 root@h\n"


def test_known_hosts_says_a_broken_group_data_file_before_reading_any_host(monkeypatch, capsys,
                                                                         tmp_path):  # fmt: skip
    from agenthost import known_hosts

    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data/all.yaml").write_text("agent_retired: [\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(known_hosts, "inventory_hosts",
                        lambda inventory: [{"name": "a", "groups": [], "data": {}}])  # fmt: skip
    monkeypatch.setattr(known_hosts, "host_keys", lambda inventory: pytest.fail("host read"))
    assert known_hosts._run(argparse.Namespace(inventory="inv.py")) == 64
    assert "group_data/all.yaml: not YAML" in capsys.readouterr().err


# --- the pipeline replay ------------------------------------------------------------------------

def test_replay_results_are_read_per_flow():
    output = "as 0:0\nok inside\nFAIL build: denied: no\nok sibling\nok deleteDir\n"
    assert pipeline.results(output) == {
        "as": "0:0", "inside": "ok", "build": "denied: no", "sibling": "ok", "deleteDir": "ok"
    }  # fmt: skip


def test_replay_runs_the_plugins_command_lines():
    script = pipeline.SCRIPT
    assert 'docker run -t -d -u "$(id -u):$(id -g)" $INSIDE_ARGS -w "$WS"' in script
    assert '-v "$WS:$WS:rw,z" -v "$WS@tmp:$WS@tmp:rw,z"' in script
    assert '--entrypoint cat "$IMAGE"' in script
    assert 'docker stop --time=1 "$cid"' in script and 'docker rm -f "$cid"' in script


def test_rehearsal_inventory_runs_the_agent_once_its_image_is_saved(tmp_path, monkeypatch):
    from agenthost_lab import agent_image, quickstart

    monkeypatch.setenv("AGENTHOST_REHEARSAL_DIR", str(tmp_path))
    assert quickstart.settings("demo") == {}
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / agent_image.FILE_NAME).write_bytes(b"")
    data = quickstart.settings("demo")
    assert data["docker_image_preload"] == [str(tmp_path / "demo" / agent_image.FILE_NAME)]
    assert [c["image"] for c in data["agent_containers"]] == [agent_image.TAG]
    Settings(**{**data, "docker_image_preload": []})  # valid settings

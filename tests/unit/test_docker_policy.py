"""The Docker policy stage's operations (facts in, commands out) and what it puts on a host."""

from __future__ import annotations

import hashlib
import json

from agenthost import desired
from agenthost.operations.files import files_applied
from agenthost.settings import Settings
from agenthost.tasks.docker_policy import socket_listening
from agenthost.tasks.docker_socket import SocketAcl, socket_acl_cleared
from tests.unit.harness import run_op

ACCOUNT = desired.Account("/home/jenkins", "jenkins")
SETTINGS = Settings(agent_containers=[
    {"name": "ci", "image": "agent:1", "volumes": ["/srv/cache:/cache"],
     "docker_policy": {"capabilities": ["NET_ADMIN"]}},
], docker_policy={"bind_paths": ["/srv/shared"]})  # fmt: skip


def state(content: str) -> dict:
    return {"mode": 644, "user": "root", "group": "root",
            "sha256": hashlib.sha256(content.encode()).hexdigest()}  # fmt: skip


def test_each_agent_gets_its_own_socket_with_the_hosts_allowances_and_its_own():
    account, container = desired.policy_sockets(SETTINGS)
    assert account.path == "/run/agenthost-docker/account.sock"
    assert container.path == desired.policy_socket(SETTINGS, "ci")
    assert container.unit == "agenthost-docker-policy@container-ci.socket"
    config = json.loads(container.config())
    assert config["setting"] == "agent_containers[ci].docker_policy"
    assert config["allow"]["capabilities"] == ["NET_ADMIN"]
    assert config["allow"]["bind_paths"] == ["/srv/shared"]
    assert config["binds"] == [SETTINGS.agent_workspace, "/srv/cache"]
    assert json.loads(account.config())["allow"]["capabilities"] == []
    assert container.unit in desired.units(SETTINGS)


def test_the_units_run_the_shipped_package_as_root_with_one_capability():
    files = {f.path: f.content for f in desired.policy_files(SETTINGS, ACCOUNT)}
    socket = files["/etc/systemd/system/agenthost-docker-policy@.socket"]
    assert "ListenStream=/run/agenthost-docker/%i.sock" in socket
    assert "SocketUser=jenkins" in socket and "SocketMode=0660" in socket
    service = files["/etc/systemd/system/agenthost-docker-policy@.service"]
    assert "-m policy.server /etc/agenthost/docker-policy/%i.json" in service
    assert "CapabilityBoundingSet=CAP_DAC_READ_SEARCH" in service and "Restart=always" in service
    assert "def route(" in files["/usr/local/lib/agenthost/policy/rules.py"]



def test_the_agents_docker_is_pointed_at_its_policy_socket_by_a_context():
    context = desired.docker_context(SETTINGS, ACCOUNT)
    # The CLI's own layout: contexts/meta/<sha256 of the name>/meta.json
    digest = hashlib.sha256(b"agenthost").hexdigest()
    assert context.path == f"/home/jenkins/.docker/contexts/meta/{digest}/meta.json"
    meta = json.loads(context.content)
    assert meta["Endpoints"]["docker"]["Host"] == "unix:///run/agenthost-docker/account.sock"
    assert (context.user, context.mode) == ("jenkins", "644")
    assert desired.client_config(SETTINGS)["currentContext"] == "agenthost"


def test_files_applied_is_one_change_with_its_follow_up_or_a_noop():
    files = [desired.File("/etc/a", "a\n"), desired.File("/etc/b", "b\n")]
    same = {"ManagedFileState": {"/etc/a": state("a\n"), "/etc/b": state("b\n")}}
    result = run_op(files_applied, same, files=files, then=["systemctl x"])
    assert result.commands == [] and result.noops[-1] == "2 file(s) are up to date"
    changed = {"ManagedFileState": {"/etc/a": state("a\n"), "/etc/b": state("old\n")}}
    result = run_op(files_applied, changed, files=files, then=["systemctl x"])
    assert "upload /etc/b" not in result.commands  # uploaded beside it, then renamed
    assert any(c.startswith("mv -f") and c.endswith("/etc/b") for c in result.commands)
    assert result.commands[-1] == "systemctl x" and result.commands.count("systemctl x") == 1


def test_a_socket_made_anew_restarts_the_agents_that_mount_it():
    unit = "agenthost-docker-policy@container-ci.socket"
    up = {"UnitState": {unit: {"active": True, "enabled": True}}}
    assert run_op(socket_listening, up, unit=unit, containers=["ci"]).commands == []
    down = {"UnitState": {unit: {"active": False, "enabled": True}}}
    commands = run_op(socket_listening, down, unit=unit, containers=["ci"]).commands
    assert commands == [f"systemctl start {unit}",
                        "if docker container inspect ci >/dev/null 2>&1;"
                        " then docker restart ci >/dev/null; fi"]  # fmt: skip


def test_an_acl_entry_on_the_real_socket_is_removed():
    op = socket_acl_cleared
    assert run_op(op, {"SocketAcl": []}).commands == []
    found = {"SocketAcl": ["user:jenkins:rw-"]}
    removed = run_op(op, found)
    assert removed.commands == ["setfacl -b /run/docker.sock"]
    assert [(d.what, d.actual) for d in removed.differences] == [
        ("/run/docker.sock ACL", "user:jenkins:rw-")]  # reported by drift
    assert SocketAcl().process(["user::rw-", "user:jenkins:rw-"]) == [
        "user::rw-", "user:jenkins:rw-"]  # the command's grep keeps only the named ones

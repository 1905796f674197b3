"""The resulting state of an agent host, compared with agenthost.desired: the same description
the deploy applies."""

from __future__ import annotations

import hashlib
import json

import pytest

from agenthost import desired, subids
from agenthost.operations.leftovers import TREES, Leftovers, agent_directories
from agenthost.paths import SUBID_FILES
from agenthost.verify.plugin import Probe


def file_state(probe: Probe, file: desired.File) -> dict:
    found = probe.host.file(file.path)
    if not found.exists:
        return {"exists": False}
    state = {"exists": True, "owner": f"{found.user}:{found.group}", "mode": f"{found.mode:o}"}
    # A secret's content is compared on the host, by checksum, and never shown.
    state["content"] = "as desired" if found.sha256sum == _sha256(file.content) else "differs"
    return state


def _sha256(content: str | None) -> str:
    return hashlib.sha256((content or "").encode()).hexdigest()


def test_files(agent_host: Probe) -> None:
    wrong = {}
    for file in desired.files(agent_host.settings, agent_host.account, agent_host.system):
        want = (
            {"exists": False}
            if file.content is None
            else {
                "exists": True,
                "owner": f"{file.user}:{file.group}",
                "mode": file.mode,
                "content": "as desired",
            }  # fmt: skip
        )
        found = file_state(agent_host, file)
        if found != want:
            wrong[file.path] = {"expected": want, "found": found}
    assert not wrong, json.dumps(wrong, indent=2)


def test_nothing_is_left_of_an_interrupted_run(agent_host: Probe) -> None:
    fact = Leftovers()
    directories = agent_directories(agent_host.settings, agent_host.system, agent_host.account)
    output = agent_host.host.check_output(fact.command(trees=TREES, directories=directories))
    assert not fact.process(output.splitlines())


def test_subordinate_ids(agent_host: Probe) -> None:
    """The agent's lines as the deploy writes them (subids.agent_lines, which drift plans too);
    other users' lines, such as a range useradd added later, are theirs."""
    settings = agent_host.settings
    if not settings.docker_userns_remap:
        pytest.skip("docker_userns_remap is off: the subid files are not agenthost's")
    user = agent_host.host.user(settings.agent_user)
    wrong = {}
    for path, own_id in zip(SUBID_FILES, (user.uid, user.gid), strict=True):
        text = agent_host.host.file(path).content_string
        if not subids.in_place(text, user.name, own_id, settings.docker_subid_count,
                               settings.docker_userns_agent):  # fmt: skip
            wrong[path] = [line for line in text.splitlines() if line.startswith(f"{user.name}:")]
    assert not wrong, f"the agent's lines are not as the deploy writes them: {wrong}"


def test_packages(agent_host: Probe) -> None:
    settings, system = agent_host.settings, agent_host.system
    missing = [p for p in desired.packages(settings, system)
               if not agent_host.host.package(p).is_installed]  # fmt: skip
    assert not missing, f"not installed: {missing}"
    extra = [p for p in desired.absent_packages(settings, system)
             if agent_host.host.package(p).is_installed]  # fmt: skip
    assert not extra, f"installed, but another source's or not asked for: {extra}"


@pytest.mark.parametrize("what", ["enabled", "running"])
def test_units(agent_host: Probe, what: str) -> None:
    units = desired.units(agent_host.settings)
    wrong = [u for u in units if not getattr(agent_host.host.service(u), f"is_{what}")]
    assert not wrong, f"not {what}: {wrong}"


def test_docker_group(agent_host: Probe) -> None:
    members = sorted(agent_host.host.group("docker").members)
    assert members == sorted(desired.docker_group(agent_host.settings))


def test_the_socket_is_0660_root_docker(agent_host: Probe) -> None:
    socket = agent_host.host.file("/run/docker.sock")
    assert (socket.user, socket.group, socket.mode) == ("root", "docker", 0o660)
    acl = agent_host.host.run("getfacl -cp /run/docker.sock 2>/dev/null").stdout
    assert not [line for line in acl.splitlines() if line.startswith(("user:", "group:"))
                and line.split(":")[1]], f"ACL entries on the socket: {acl}"  # fmt: skip


def test_agents_have_their_policy_sockets(agent_host: Probe) -> None:
    user = agent_host.settings.agent_user
    for socket in desired.policy_sockets(agent_host.settings):
        found = agent_host.host.file(socket.path)
        assert found.is_socket and found.user == user and found.mode == 0o660, socket.path


def test_userns_remap_is_live(agent_host: Probe) -> None:
    settings = agent_host.settings
    info = json.loads(agent_host.host.check_output("docker info --format '{{json .}}'"))
    userns = any("name=userns" in option for option in info.get("SecurityOptions") or [])
    assert userns == settings.docker_userns_remap


def test_agent_containers_run(agent_host: Probe) -> None:
    wrong = {}
    for spec in agent_host.settings.agent_containers:
        result = agent_host.host.run("docker inspect --format '{{.State.Status}}' %s", spec.name)
        status = result.stdout.strip() if result.rc == 0 else "absent"
        if status != "running":
            wrong[spec.name] = status
    assert not wrong, f"agent containers not running: {wrong}"

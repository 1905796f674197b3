"""Retiring a host: given its backups, these commands restore what it had before agenthost."""

import importlib
from types import SimpleNamespace

from agenthost import subids
from agenthost.operations.plan import followed
from agenthost.operations.writes import copied
from agenthost.paths import BACKUP_DIR
from agenthost.tasks.retire import (
    FirstBackup,
    docker_restarted,
    original_restored,
    subid_lines_restored,
)
from tests.unit.harness import PlannedHost, plan_agent_host, run_op

PATH = "/etc/docker/daemon.json"
FIRST = f"{BACKUP_DIR}/20260101T000000Z{PATH}"


def test_a_file_the_host_had_is_copied_back_from_the_first_backup():
    facts = {"FirstBackup": {PATH: FIRST}, "Sha256File": {PATH: "ours", FIRST: "theirs"},
             "File": {PATH: {"mode": 644}}}  # fmt: skip
    result = run_op(original_restored, facts, path=PATH)
    assert result.commands[-1] == copied(FIRST, PATH)
    assert any(c.startswith("{ cp -p /etc/docker/daemon.json") for c in result.commands[:-1])


def test_the_hosts_own_file_is_a_noop():
    facts = {"FirstBackup": {PATH: FIRST}, "Sha256File": {PATH: "theirs", FIRST: "theirs"}}
    result = run_op(original_restored, facts, path=PATH)
    assert result.commands == [] and result.noops


def test_a_file_the_host_did_not_have_is_removed():
    facts = {"FirstBackup": {PATH: None}, "File": {PATH: {"mode": 644}}}
    result = run_op(original_restored, facts, path=PATH)
    assert result.commands[-1] == f"rm -f {PATH}"


def test_first_backup_fact():
    command = FirstBackup().command(PATH)
    assert command.startswith(f"grep -qxF {PATH} {BACKUP_DIR}/created")
    assert f"ls -d {BACKUP_DIR}/*{PATH}" in command and "sort | head -n 1" in command
    assert FirstBackup().process([]) is None and FirstBackup().process([FIRST]) == FIRST


def test_only_the_agents_subid_lines_go_back():
    current = "alice:100000:65536\njenkins:1000:1\njenkins:165536:65536\nbob:231072:65536\n"
    original = "alice:100000:65536\njenkins:300000:65536\n"
    restored = subids.restored_lines(current, original, "jenkins", 1000)
    assert restored == "alice:100000:65536\nbob:231072:65536\njenkins:300000:65536\n"
    facts = {
        "UserAccount": {"jenkins": {"uid": 1000, "gid": 1000}},
        "FirstBackup": {"/etc/subuid": FIRST},
        "FileContents": {FIRST: original.splitlines(), "/etc/subuid": current.splitlines()},
        "ManagedFileState": {
            "/etc/subuid": {"mode": 644, "user": "root", "group": "root", "sha256": "other"}
        },
    }
    result = run_op(subid_lines_restored, facts, path="/etc/subuid", user="jenkins")
    assert list(result.uploads.values()) == [restored]


def restore(will_change: bool) -> SimpleNamespace:
    """A planned restoring operation."""
    return SimpleNamespace(is_complete=lambda: False, will_change=will_change)


def test_docker_restarts_only_after_a_restore_and_plans_nothing_otherwise():
    """One operation, no conditional step: a retired host's re-run plans no change at all."""
    same = run_op(docker_restarted, {}, restored=[restore(False), restore(False)], timeout=300)
    assert same.commands == [] and same.noops == ["dockerd runs the host's own configuration"]
    restored = run_op(docker_restarted, {}, restored=[restore(False), restore(True)], timeout=9)
    assert any(c.startswith("timeout 9 systemctl restart docker.socket docker.service")
               for c in restored.commands)  # fmt: skip
    assert "until timeout 10 docker info" in restored.commands[-1]


def test_a_reload_follows_only_a_change_of_what_it_follows():
    """systemd's reload after a retire: planned as a change only when due."""
    same = run_op(followed, {}, changed=[restore(False)], commands=["systemctl daemon-reload"])
    assert same.commands == [] and same.noops == ["nothing it follows changed"]
    due = run_op(followed, {}, changed=[restore(False), restore(True)],
                 commands=["systemctl daemon-reload"])  # fmt: skip
    assert due.commands == ["systemctl daemon-reload"]


def test_retiring_a_remapped_host_says_where_its_images_stay():
    from agenthost.settings import Settings
    from agenthost.tasks.retire import remapped_images_note

    note = remapped_images_note(Settings(agent_retired=True))
    assert "/var/lib/docker/<uid>.<gid>" in note and "`docker images` shows only" in note
    assert remapped_images_note(Settings(agent_retired=True, docker_userns_remap=False)) is None


def test_only_what_dockerd_reads_restarts_it_and_systemd_reloads_for_the_rest(monkeypatch):
    # The module (its name in agenthost.tasks is the stage's function).
    retire = importlib.import_module("agenthost.tasks.retire")
    followed_by = {}
    for name in ("docker_restarted", "followed"):
        operation = getattr(retire, name)
        monkeypatch.setattr(retire, name, lambda _op=operation, _name=name, **kwargs: (
            followed_by.setdefault(_name, []).append(kwargs), _op(**kwargs))[1])
    data = {"agent_retired": True, "docker_http_proxy": "http://proxy.example.com:3128"}
    state = plan_agent_host(data, PlannedHost("jenkins", fresh=False))
    (ops,) = state.ops.values()
    names = {id(op.operation_meta): state.get_op_meta(h).names for h, op in ops.items()}
    (restart,) = followed_by["docker_restarted"]
    restarting = {name for op in restart["restored"] for name in names[id(op)]}
    reloading = {name for follow in followed_by["followed"] if "systemctl daemon-reload"
                 in follow["commands"] for op in follow["changed"] for name in names[id(op)]}
    assert restarting == {
        "Retire the host | /etc/docker/daemon.json is the host's own again",
        "Retire the host | /etc/subuid has jenkins's lines from before agenthost",
        "Retire the host | /etc/subgid has jenkins's lines from before agenthost",
        "Retire the host | No /etc/systemd/system/docker.service.d/http-proxy.conf",
        "Retire the host | No /etc/docker/proxy.env",
        "Retire the host | No /etc/systemd/system/docker.socket.d/agenthost.conf",
    }
    assert "Retire the host | No /etc/apt/apt.conf.d/80agenthost-proxy" in reloading
    assert not any("daemon.json" in name or "subuid" in name for name in reloading)


def test_retiring_gives_the_host_back_its_own_apt_sources_pin_and_key_of_docker():
    """The engine stays; agenthost's pin and Docker's repository and key go, or are the host's
    own again where it had them before agenthost."""
    data = {"agent_retired": True, "docker_source": "docker-ce",
            "docker_version": "5:27.5.1-1~debian.12~bookworm"}  # fmt: skip
    state = plan_agent_host(data, PlannedHost("jenkins", fresh=False))
    (ops,) = state.ops.values()
    names = {name for op in ops for name in state.get_op_meta(op).names}
    for path in ("/etc/apt/preferences.d/agenthost-docker",
                 "/etc/apt/sources.list.d/docker.sources", "/etc/apt/keyrings/docker.asc"):
        assert f"Retire the host | {path} is the host's own again" in names

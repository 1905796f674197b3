"""Directories, groups, accounts and units: given these facts, these commands (or a no-op)."""

import os
import subprocess

import pytest
from pyinfra.api import OperationError

from agenthost.operations.accounts import account_present, group_present
from agenthost.operations.files import directory
from agenthost.operations.systemd import UnitState, unit_running
from agenthost.operations.writes import moded, owned
from tests.unit.harness import run_op

WORKSPACE = "/var/lib/agenthost/workspace"
MINE = {"mode": 750, "user": "jenkins", "group": "jenkins"}
JENKINS = {"uid": 1000, "gid": 1000, "home": "/home/jenkins", "group": "jenkins", "groups": []}


def test_a_directory_as_asked_is_a_noop():
    result = run_op(directory, {"Directory": {WORKSPACE: MINE}},
                    path=WORKSPACE, user="jenkins", group="jenkins", mode="750")  # fmt: skip
    assert result.commands == [] and result.noops


def chmod(mode, path):
    refused = f"{{ echo '{path} is a symbolic link' >&2; exit 1; }}"
    return f"{{ [ ! -L {path} ] || {refused}; }} && chmod {mode} {path}"


def test_root_never_follows_a_link_the_agent_may_have_put_in_its_home(tmp_path):
    shadow, link = tmp_path / "shadow", tmp_path / "authorized_keys"
    shadow.write_text("root:x\n")
    shadow.chmod(0o600)
    link.symlink_to(shadow)
    for command in (moded(str(link), "644"), owned(str(link), "nobody", "nogroup")):
        subprocess.run(["sh", "-c", command.get_raw_value()], capture_output=True)
    assert (shadow.stat().st_mode & 0o777, shadow.stat().st_uid) == (0o600, os.getuid())


def test_a_missing_directory_is_made_then_given_its_mode_and_owner():
    result = run_op(directory, {"Directory": {WORKSPACE: None}},
                    path=WORKSPACE, user="jenkins", group="jenkins", mode="750")  # fmt: skip
    assert result.commands == [
        f"mkdir -p {WORKSPACE}", chmod("750", WORKSPACE), f"chown -h jenkins:jenkins {WORKSPACE}",
    ]  # fmt: skip


def test_only_what_differs_is_changed():
    found = {**MINE, "mode": 755}
    result = run_op(directory, {"Directory": {WORKSPACE: found}},
                    path=WORKSPACE, user="jenkins", group="jenkins", mode="750")  # fmt: skip
    assert result.commands == [chmod("750", WORKSPACE)]
    found = {**MINE, "user": "root"}
    result = run_op(directory, {"Directory": {WORKSPACE: found}},
                    path=WORKSPACE, user="jenkins", group="jenkins", mode="750")  # fmt: skip
    assert result.commands == [f"chown -h jenkins:jenkins {WORKSPACE}"]


def test_a_file_where_a_directory_must_be_is_an_error():
    with pytest.raises(OperationError, match="not a directory"):
        run_op(directory, {"Directory": {WORKSPACE: False}},
               path=WORKSPACE, user="jenkins", group="jenkins", mode="750")  # fmt: skip


def test_a_group_is_added_only_when_missing():
    assert run_op(group_present, {"GroupMembers": {"docker": []}}, group="docker").noops
    result = run_op(group_present, {"GroupMembers": {"docker": None}}, group="docker")
    assert result.commands == ["groupadd docker"]


def test_a_new_agent_gets_its_uid_shell_and_home():
    facts = {"UserAccount": {"jenkins": None}, "Directory": {"/home/jenkins": None},
             "GroupMembers": {"jenkins": None}}  # fmt: skip
    result = run_op(account_present, facts, user="jenkins", home="/home/jenkins", uid=1500)
    assert result.commands == ["useradd -d /home/jenkins -s /bin/bash --uid 1500 -m jenkins"]


def test_a_new_agent_takes_an_existing_group_of_its_name_and_an_existing_home():
    facts = {"UserAccount": {"jenkins": None}, "Directory": {"/srv/ci": {**MINE, "user": "root"}},
             "GroupMembers": {"jenkins": []}}  # fmt: skip
    result = run_op(account_present, facts, user="jenkins", home="/srv/ci")
    assert result.commands == [
        "useradd -d /srv/ci -s /bin/bash -g jenkins -m jenkins", "chown -h jenkins: /srv/ci",
    ]  # fmt: skip


def test_an_existing_agent_keeps_its_account_and_moves_only_to_a_home_asked_for():
    facts = {"UserAccount": {"jenkins": JENKINS}, "Directory": {"/home/jenkins": MINE}}
    result = run_op(account_present, facts, user="jenkins", home="/home/jenkins", uid=1500)
    assert result.commands == [] and result.noops
    facts = {"UserAccount": {"jenkins": JENKINS}, "Directory": {"/srv/ci": None}}
    result = run_op(account_present, facts, user="jenkins", home="/srv/ci")
    assert result.commands == [
        "usermod -d /srv/ci jenkins", "mkdir -p /srv/ci", "chown -h jenkins:jenkins /srv/ci",
    ]  # fmt: skip


def test_a_unit_is_started_and_enabled_as_needed():
    def state(active: bool, enabled: bool) -> dict:
        return {"UnitState": {"docker.service": {"active": active, "enabled": enabled}}}

    assert run_op(unit_running, state(True, True), unit="docker.service").noops
    assert run_op(unit_running, state(False, True), unit="docker.service").commands == [
        "systemctl start docker.service"
    ]
    assert run_op(unit_running, state(False, False), unit="docker.service").commands == [
        "systemctl start docker.service", "systemctl enable docker.service",
    ]  # fmt: skip


def test_unit_state_judges_as_systemd_status_and_enabled_do():
    assert UnitState().process(["SubState=waiting", "UnitFileState=enabled"]) == {
        "active": True, "enabled": True,
    }  # fmt: skip
    assert UnitState().process(["SubState=dead", "UnitFileState="]) == {
        "active": False, "enabled": False,
    }  # fmt: skip
    assert UnitState().command(unit="docker.service") == (
        "systemctl show --property SubState --property UnitFileState docker.service"
    )

"""The one-command facts: what they run (checked by a real shell) and what they make of it."""

import hashlib
import os
import subprocess

from pyinfra.api.state import StateStage
from pyinfra.context import ctx_host

from agenthost.tasks.facts import ManagedFileState, UserAccount, planned_fact


def run(command: str) -> list[str]:
    """The fact's command run by sh here, as pyinfra runs it on a host: its stdout lines."""
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_managed_file_state_is_mode_owner_group_and_checksum_in_one_command(tmp_path):
    path = tmp_path / "it's here.conf"  # a quote in the name: the path is quoted
    path.write_text("a\n")
    path.chmod(0o640)
    fact = ManagedFileState()
    output = run(fact.command(path=str(path)))
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
    assert fact.process(output) == {
        "mode": 640, "user": user, "group": group,
        "sha256": hashlib.sha256(b"a\n").hexdigest(),
    }  # fmt: skip


def test_managed_file_state_is_nothing_for_a_missing_file_a_link_or_a_directory(tmp_path):
    (tmp_path / "target").write_text("x")
    os.symlink(tmp_path / "target", tmp_path / "link")
    for path in (tmp_path / "missing", tmp_path / "link", tmp_path):
        # No output: pyinfra then gives the fact's default, None, without calling process.
        assert run(ManagedFileState().command(path=str(path))) == []
    assert ManagedFileState().default() is None


def test_user_account_reads_one_account_and_its_groups():
    fact = UserAccount()
    output = run(fact.command(user="root"))
    assert fact.process(output) == {
        "uid": 0, "gid": 0, "home": "/root", "group": "root", "groups": [],
    }  # fmt: skip
    line = "jenkins:x:1000:1000::/home/jenkins:/bin/bash"
    assert fact.process([line, "jenkins", "jenkins docker"])["groups"] == ["docker"]


def test_user_account_of_a_missing_user_is_nothing():
    assert run(UserAccount().command(user="no-such-user-x")) == []


def test_user_account_without_a_group_entry_has_the_group_id_as_id_prints_it():
    line = "ci:x:1500:1599::/srv/ci:/bin/bash"
    assert UserAccount().process([line, "1599", "1599"]) == {
        "uid": 1500, "gid": 1599, "home": "/srv/ci", "group": "1599", "groups": [],
    }  # fmt: skip


class PreparingState:
    current_stage = StateStage.Prepare


class CountingHost:
    """Answers every fact with the number of reads so far."""

    name = "agent-01"
    in_op = False

    def __init__(self):
        self.state = PreparingState()
        self.reads = 0

    def get_fact(self, _fact, **_arguments):
        self.reads += 1
        return self.reads


def test_a_planned_read_is_made_once_per_host_and_arguments_while_the_run_is_prepared():
    fake = CountingHost()
    with ctx_host.use(fake):
        assert planned_fact(UserAccount, user="jenkins") == 1
        assert planned_fact(UserAccount, user="jenkins") == 1
        assert planned_fact(UserAccount, user="alice") == 2
        fake.in_op = True  # an operation reads at execution: afresh
        assert planned_fact(UserAccount, user="jenkins") == 3
        fake.in_op = False
        fake.state.current_stage = StateStage.Execute
        assert planned_fact(UserAccount, user="jenkins") == 4

"""The one-command facts: what they run (checked by a real shell) and what they make of it."""

import hashlib
import os
import subprocess

from agenthost.operations.accounts import UserAccount
from agenthost.operations.apt import PackageVersions
from agenthost.operations.files import ManagedFileState


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


def test_package_versions_are_those_dpkg_has_installed_held_or_not():
    output = ["ii docker.io 26.1.5+dfsg1-9+b11", "hi tini 0.19.0-1", "rc containerd 1.6.20~ds1-1",
              "un runc", "ii libc6 2.36-9", "ii libc6 2.36-9+i386"]  # fmt: skip
    assert PackageVersions().process(output) == {
        "docker.io": ["26.1.5+dfsg1-9+b11"], "tini": ["0.19.0-1"],
        "libc6": ["2.36-9", "2.36-9+i386"],
    }  # fmt: skip
    assert "dpkg-query -W" in PackageVersions().command(("docker.io", "it's"))
    assert "'it'\"'\"'s'" in PackageVersions().command(("docker.io", "it's"))

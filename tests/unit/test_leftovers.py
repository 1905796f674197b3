"""What an interrupted run leaves: found by one read, removed by one command, nothing else."""

import subprocess

from agenthost import desired
from agenthost.desired import Account
from agenthost.engine import System
from agenthost.operations.leftovers import TREES, Leftovers, agent_directories, no_leftovers, under
from agenthost.operations.writes import temp_path
from agenthost.paths import (
    BUILD_CONFIG,
    DEPLOY_STAMP,
    IMAGE_UPLOADS,
    PULL_CONFIG,
    SUBID_FILES,
    WORK_DIR,
    agent_env_file,
    agent_secret_file,
)
from agenthost.settings import Settings
from agenthost.tasks.docker_daemon import APPLY_SCRIPT
from tests.unit.harness import run_op

HOME = ("/home/jenkins/.ssh",)
TEMP = "/etc/docker/.daemon.json.agenthost-20261207T010203Z-0badcafe"


def test_a_clean_host_is_a_noop():
    result = run_op(no_leftovers, {"Leftovers": {(TREES, HOME): []}}, trees=TREES, directories=HOME)
    assert result.noops and not result.commands


def test_what_is_left_is_removed_in_one_command_and_explained():
    found = [TEMP, f"{IMAGE_UPLOADS}/agent.tar"]
    result = run_op(no_leftovers, {"Leftovers": {(TREES, HOME): found}}, trees=TREES,
                    directories=HOME)  # fmt: skip
    assert result.commands == [f"rm -rf -- {TEMP} {IMAGE_UPLOADS}/agent.tar"]
    assert [d.actual for d in result.differences] == ["left by an interrupted run"] * 2


def test_the_read_takes_only_temporary_names_and_scratch(tmp_path):
    """Run for real on a folder laid out as a host: a temp file in a tree and in the agent's
    folder, a partial tarball, a registry login; not a file of the same folder, nor a line that
    a file name with a newline makes look like /etc/shadow."""
    etc, ssh = tmp_path / "etc", tmp_path / "ssh"
    for folder in (etc / "docker", ssh):
        folder.mkdir(parents=True)
    (etc / "docker" / "daemon.json").write_text("{}")
    temp = etc / "docker" / ".daemon.json.agenthost-x"
    temp.write_text("{")
    planted = ssh / ".a.agenthost-x\nshadow"
    planted.write_text("")
    fact = Leftovers()
    command = fact.command(trees=(str(etc),), directories=(str(ssh),))
    lines = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout
    found = fact.process(lines.splitlines())
    assert found == sorted([str(ssh / ".a.agenthost-x"), str(temp)])  # the first half: no file
    assert "shadow" not in found and str(etc / "docker" / "daemon.json") not in found
    assert fact.process([f"{IMAGE_UPLOADS}/agent.tar", PULL_CONFIG, BUILD_CONFIG, "/root/x"]) == [
        BUILD_CONFIG, f"{IMAGE_UPLOADS}/agent.tar", PULL_CONFIG]  # fmt: skip


def test_every_temporary_name_is_in_a_folder_searched():
    settings, account = Settings(), Account("/home/jenkins", "jenkins")
    system = System.from_os_release({"id": "debian", "version_id": "12",
                                     "version_codename": "bookworm"})  # fmt: skip
    folders = agent_directories(settings, system, account)
    written = [file.path for file in desired.files(settings, account, system)]
    for path in [*written, *SUBID_FILES, APPLY_SCRIPT, DEPLOY_STAMP, agent_secret_file("ci"),
                 agent_env_file("ci")]:  # fmt: skip
        folder = temp_path(path).rsplit("/", 1)[0]
        assert folder in folders or under(folder, TREES), path
    assert not under(f"{WORK_DIR}/workspace", TREES)  # an agent's workspace is not searched

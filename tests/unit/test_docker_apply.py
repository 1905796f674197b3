"""dockerd's configuration is applied when it differs from what was last applied healthily,
by a script run as a transient unit; its checksum and rollback are checked here with a real
shell on temporary files."""

import subprocess
from types import SimpleNamespace

from agenthost.desired import DockerdFile
from agenthost.tasks.docker_daemon import (
    APPLY_SCRIPT,
    APPLY_UNIT,
    AppliedConfig,
    checksum_command,
    docker_applied,
)
from agenthost.tasks.ops import Managed, backup_path, temp_path
from tests.unit.harness import run_op


def op(will_change=False):
    return SimpleNamespace(is_complete=lambda: False, will_change=will_change)


def dockerd_files(tmp_path):
    return [DockerdFile(str(tmp_path / "daemon.json")),
            DockerdFile(str(tmp_path / "subuid"), "jenkins:")]  # fmt: skip


def managed(will_change=False):
    return [Managed(op(will_change)), Managed(op())]


def checksum(files):
    return subprocess.run(["sh", "-c", checksum_command(files)], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip


def state(files, current="a", applied="a", agents=None):
    return {"AppliedConfig": {checksum_command(files): {"current": current, "applied": applied}},
            "AgentContainers": agents or {}}  # fmt: skip


def test_in_sync_is_a_noop(tmp_path):
    files = dockerd_files(tmp_path)
    result = run_op(docker_applied, state(files), managed=managed(), files=files)
    assert result.commands == [] and result.noops == ["dockerd runs the configuration on disk"]


def test_a_configuration_written_by_an_interrupted_run_is_applied(tmp_path):
    files = dockerd_files(tmp_path)
    result = run_op(docker_applied, state(files, current="new", applied="old"),
                    managed=managed(), files=files)  # fmt: skip
    assert f"upload {temp_path(APPLY_SCRIPT)}" in result.commands
    assert f"systemd-run --unit={APPLY_UNIT} --wait" in result.commands[-1]


def test_no_record_yet_applies_once_and_a_change_this_run_applies(tmp_path):
    files = dockerd_files(tmp_path)
    assert run_op(docker_applied, state(files, applied=None), managed=managed(),
                  files=files).commands  # fmt: skip
    changed = managed(will_change=True)
    assert run_op(docker_applied, state(files), managed=changed, files=files).commands


def test_running_agents_stop_right_before_the_restart_in_the_same_operation(tmp_path):
    """No separate conditional step: a converged host then plans no change at all."""
    files = dockerd_files(tmp_path)
    agents = {"ci-agent": "running", "old-agent": "exited"}
    result = run_op(docker_applied, state(files, agents=agents), managed=managed(True),
                    files=files)  # fmt: skip
    assert result.commands[-2:-1] == ["docker container stop ci-agent"]
    assert not any("old-agent" in command for command in result.commands)
    assert f"systemd-run --unit={APPLY_UNIT} --wait" in result.commands[-1]


def test_nothing_to_apply_stops_no_agent(tmp_path):
    files = dockerd_files(tmp_path)
    result = run_op(docker_applied, state(files, agents={"ci-agent": "running"}),
                    managed=managed(), files=files)  # fmt: skip
    assert result.commands == []


def test_the_fact_reads_the_current_checksum_and_the_record():
    fact = AppliedConfig()
    assert fact.process(["abc", "def"]) == {"current": "abc", "applied": "def"}
    assert fact.process(["abc"]) == {"current": "abc", "applied": None}


def test_checksum_follows_content_and_absence_but_only_the_agents_subid_lines(tmp_path):
    files = dockerd_files(tmp_path)
    absent = checksum(files)
    (tmp_path / "daemon.json").write_text("{}\n")
    (tmp_path / "subuid").write_text("jenkins:1000:1\n")
    written = checksum(files)
    assert absent != written and len(written) == 64
    (tmp_path / "subuid").write_text("jenkins:1000:1\nalice:100000:65536\n")
    assert checksum(files) == written
    (tmp_path / "daemon.json").write_text('{"debug": true}\n')
    assert checksum(files) != written


def test_only_our_drop_ins_are_kept_others_are_backed_up_and_removed():
    from agenthost.tasks.drop_ins import only_our_drop_ins

    directory = "/etc/systemd/system/docker.service.d"
    ours = f"{directory}/http-proxy.conf"
    listener = f"{directory}/tcp.conf"
    clean = run_op(only_our_drop_ins, {"DropIns": {directory: [ours]}}, directory=directory,
                   ours=[ours])  # fmt: skip
    assert clean.noops and not clean.commands
    given = {"DropIns": {directory: [ours, listener]}, "File": {listener: {"mode": 644}}}
    result = run_op(only_our_drop_ins, given, directory=directory, ours=[ours])
    assert result.commands[2] == f"cp -p {listener} {backup_path(listener)}"
    assert result.commands[-1] == f"rm -f {listener}"


def test_dockerd_files_are_what_hosts_recorded_their_checksum_of():
    """The order is part of the checksum each host recorded: changing it would restart every
    host's dockerd once, for nothing."""
    from agenthost.desired import dockerd_files as files_of
    from agenthost.settings import Settings

    assert files_of(Settings()) == [
        DockerdFile("/etc/subuid", "jenkins:"),
        DockerdFile("/etc/subgid", "jenkins:"),
        DockerdFile("/etc/docker/daemon.json"),
        DockerdFile("/etc/systemd/system/docker.service.d/http-proxy.conf"),
        DockerdFile("/etc/docker/proxy.env"),
        DockerdFile("/etc/systemd/system/docker.socket.d/agenthost.conf"),
        DockerdFile("/etc/systemd/system/docker.service.d"),
        DockerdFile("/etc/systemd/system/docker.socket.d"),
    ]
    unmapped = files_of(Settings(docker_userns_remap=False))
    assert [f.path for f in unmapped][:1] == ["/etc/docker/daemon.json"]

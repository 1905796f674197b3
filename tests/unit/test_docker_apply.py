"""dockerd's configuration is applied when it differs from what was last applied healthily,
by a script run as a transient unit; its checksum and rollback are checked here with a real
shell on temporary files."""

import subprocess
from types import SimpleNamespace

from agenthost.desired import DockerdFile
from agenthost.operations.plan import Managed
from agenthost.operations.writes import copied, temp_path
from agenthost.tasks.docker_daemon import (
    APPLY_SCRIPT,
    APPLY_UNIT,
    AppliedConfig,
    checksum_command,
    docker_applied,
)
from tests.unit.harness import run_op, stamped


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


def state(files, current="a", applied="a", active=True):
    return {"AppliedConfig": {checksum_command(files): {"current": current, "applied": applied}},
            "UnitState": {"docker.service": {"active": active, "enabled": True}}}  # fmt: skip


def applied(facts, managed, files):
    return run_op(docker_applied, facts, managed=managed, files=files, timeout=300)


def test_in_sync_is_a_noop(tmp_path):
    files = dockerd_files(tmp_path)
    result = applied(state(files), managed(), files)
    assert result.commands == [] and result.noops == ["dockerd runs the configuration on disk"]


def test_a_configuration_written_by_an_interrupted_run_is_applied(tmp_path):
    files = dockerd_files(tmp_path)
    result = applied(state(files, current="new", applied="old"), managed(), files)
    assert f"upload {temp_path(APPLY_SCRIPT)}" in result.commands
    assert f"systemd-run --unit={APPLY_UNIT} --wait" in result.commands[-1]


def test_no_record_yet_applies_once_and_a_change_this_run_applies(tmp_path):
    files = dockerd_files(tmp_path)
    assert applied(state(files, applied=None), managed(), files).commands
    assert applied(state(files), managed(will_change=True), files).commands


def test_a_stopped_dockerd_is_started_by_the_apply_after_its_files_are_written(tmp_path):
    """A dockerd that cannot start from what is on disk: the engine stage does not start it
    (it would fail there, before daemon.json is rewritten); this does, checked, or rolls back."""
    files = dockerd_files(tmp_path)
    result = applied(state(files, active=False), managed(), files)
    assert f"systemd-run --unit={APPLY_UNIT} --wait" in result.commands[-1]


def test_the_agents_are_stopped_and_started_again_by_the_apply_script_itself(tmp_path):
    """On the host, in the transient unit: started again after a rollback too, and after a
    dropped connection (test_apply_script runs it)."""
    files = dockerd_files(tmp_path)
    result = applied(state(files), managed(True), files)
    script = next(v for k, v in result.uploads.items() if k == temp_path(APPLY_SCRIPT))
    assert "docker container stop" in script and "agents_started loud" in script
    assert "docker_start_timeout" in script and "timeout 300 systemctl restart" in script
    assert not any(c.startswith("docker container stop") for c in result.commands)


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


def test_a_whole_unit_in_place_of_docker_s_counts_only_while_it_exists(tmp_path):
    """Hosts recorded their checksum before the overrides were watched: without one, it stays."""
    files = dockerd_files(tmp_path)
    (tmp_path / "daemon.json").write_text("{}\n")
    recorded = checksum(files)
    watched = [*files, DockerdFile(str(tmp_path / "docker.service"), unwanted=True)]
    assert checksum(watched) == recorded
    (tmp_path / "docker.service").write_text("[Service]\nExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0\n")
    assert checksum(watched) != recorded


def test_a_runtime_drop_in_directory_counts_only_while_it_holds_drop_ins(tmp_path):
    """/run is emptied at boot: a directory left empty by a removal, then gone after a reboot,
    keeps the checksum recorded, so the deploy after the reboot restarts nothing."""
    files = dockerd_files(tmp_path)
    (tmp_path / "daemon.json").write_text("{}\n")
    recorded = checksum(files)
    runtime = tmp_path / "run" / "docker.service.d"
    watched = [*files, DockerdFile(str(runtime), unwanted=True)]
    assert checksum(watched) == recorded
    runtime.mkdir(parents=True)
    assert checksum(watched) == recorded
    (runtime / "tcp.conf").write_text("[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0\n")
    assert checksum(watched) != recorded
    (runtime / "tcp.conf").unlink()
    assert checksum(watched) == recorded


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
    assert result.commands[2] == copied(listener, stamped(listener))
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
        DockerdFile("/run/systemd/system/docker.service.d", unwanted=True),
        DockerdFile("/run/systemd/system/docker.socket.d", unwanted=True),
        DockerdFile("/etc/systemd/system/docker.service", unwanted=True),
        DockerdFile("/etc/systemd/system/docker.socket", unwanted=True),
        DockerdFile("/run/systemd/system/docker.service", unwanted=True),
        DockerdFile("/run/systemd/system/docker.socket", unwanted=True),
    ]
    unmapped = files_of(Settings(docker_userns_remap=False))
    assert [f.path for f in unmapped][:1] == ["/etc/docker/daemon.json"]

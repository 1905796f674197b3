"""agenthost status: one read per host, one line per host, and the deploy's stamp."""

import json
import subprocess

from agenthost import status
from agenthost.settings import Settings
from agenthost.tasks import stamp
from tests.unit.harness import run_op

STAMP = {"when": "2026-12-01T03:00:00+00:00", "version": "0.1.0", "settings": "abc"}
OUTPUT = "\n".join([
    "os=Debian GNU/Linux 13 (trixie)", "kernel=6.12.48+deb13-amd64",
    "package=docker.io 26.1.5+dfsg1-9+b11",
    'docker=/var/lib/docker/1001.1001 ["name=seccomp,profile=builtin","name=userns"]',
    "running=agent", "running=unrelated", "space=10737418240 42949672960",
    f"stamp={json.dumps(STAMP)}",
])  # fmt: skip


def test_a_host_s_line_says_each_of_its_values():
    found = status.parse("agent-01", OUTPUT, ["agent", "other"], "abc")
    assert found.engine == "distro 26.1.5+dfsg1-9+b11" and found.userns_remap
    assert found.agents_running == ["agent"] and found.deployed["settings_changed"] is False
    assert status.line(found) == (
        "agent-01: Debian GNU/Linux 13 (trixie), kernel 6.12.48+deb13-amd64, engine distro"
        " 26.1.5+dfsg1-9+b11, userns-remap on, agents 1/2 running, 10.0 GiB free of 40.0 GiB"
        " in /var/lib/docker/1001.1001, deployed 2026-12-01T03:00:00+00:00 by agenthost 0.1.0,"
        " settings unchanged"
    )
    changed = status.parse("agent-01", OUTPUT, ["agent"], "new")
    assert status.line(changed).endswith("settings changed since")


def test_a_host_without_docker_or_stamp_and_a_host_that_is_down():
    bare = status.parse("agent-02", "os=Debian GNU/Linux 12 (bookworm)\nkernel=6.1\ndocker=\n"
                        "stamp=", [], "x")  # fmt: skip
    assert "engine none" in status.line(bare) and "Docker not running" in status.line(bare)
    assert status.line(bare).endswith("no deploy stamp")
    down = status.HostStatus("agent-03", error="Could not connect (refused)")
    assert status.line(down) == "agent-03: DOWN: Could not connect (refused)"
    assert json.loads(status.to_json([down]))["hosts"][0]["error"] == "Could not connect (refused)"


def test_the_status_command_runs_as_one_shell_command():
    done = subprocess.run(["sh", "-c", status.STATUS], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    keys = {line.split("=", 1)[0] for line in done.stdout.splitlines()}
    assert {"os", "kernel", "docker", "stamp"} <= keys


def test_the_stamp_is_written_when_the_run_changed_something_or_settings_or_version_differ(
    monkeypatch
):
    record = stamp.record_of(Settings())
    same = {"FileContents": {stamp.DEPLOY_STAMP: [json.dumps({**record, "when": "earlier"})]}}
    monkeypatch.setattr(stamp, "_others_changed", lambda: False)
    assert run_op(stamp.deploy_stamp, same, record=record).noops
    other = {"FileContents": {stamp.DEPLOY_STAMP: [json.dumps({**record, "settings": "old"})]}}
    written = run_op(stamp.deploy_stamp, other, record=record)
    assert json.loads(next(iter(written.uploads.values()))) == record
    monkeypatch.setattr(stamp, "_others_changed", lambda: True)
    assert run_op(stamp.deploy_stamp, same, record=record).uploads
    assert stamp.settings_digest(Settings()) != stamp.settings_digest(Settings(docker_users=["a"]))

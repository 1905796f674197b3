"""The live daemon's options that differ from daemon.json: a file changed without a restart."""

import json
import subprocess

from agenthost import explain, live_daemon
from agenthost.explain import Difference

INFO = {"LiveRestoreEnabled": False, "Debug": False, "LoggingDriver": "json-file",
        "SecurityOptions": ["name=seccomp,profile=default", "name=userns"], "Labels": [],
        "RegistryConfig": {"Mirrors": []}, "ExperimentalBuild": False}  # fmt: skip
FILE = {"icc": False, "live-restore": True, "log-driver": "json-file",
        "no-new-privileges": True, "userns-remap": "jenkins"}  # fmt: skip


def test_each_option_dockerd_runs_that_the_file_does_not_say_is_named_with_both_values():
    live = live_daemon.live_options(INFO, {"com.docker.network.bridge.enable_icc": "true"})
    assert live_daemon.differing(FILE, live) == [
        "icc: runs true, daemon.json has false",
        "live-restore: runs false, daemon.json has true",
        "no-new-privileges: runs false, daemon.json has true",
    ]
    same = {**INFO, "LiveRestoreEnabled": True,
            "SecurityOptions": ["name=userns", "name=no-new-privileges"]}  # fmt: skip
    bridge = {"com.docker.network.bridge.enable_icc": "false"}
    assert live_daemon.differing(FILE, live_daemon.live_options(same, bridge)) == []


def test_the_probe_is_read_with_daemon_json_in_the_same_command_and_said_in_one_line():
    pending = [Difference("dockerd", "runs the configuration on disk", "earlier", probe=True)]
    sections = explain.pending_reads(pending)
    assert set(sections) == {explain.DAEMON_JSON, explain.LIVE}
    output = f"{json.dumps(INFO)}\n{json.dumps({'com.docker.network.bridge.enable_icc': 'true'})}"
    (done,) = explain.with_diffs(pending, {explain.LIVE: output,
                                           explain.DAEMON_JSON: json.dumps(FILE)})  # fmt: skip
    assert done.actual.startswith("icc: runs true, daemon.json has false; live-restore")
    assert not done.probe
    unread = explain.with_diffs(pending, {})[0].actual
    assert unread == "an earlier configuration (docker info could not be read)"


def test_the_probe_is_a_shell_command_that_runs_without_docker():
    done = subprocess.run(["sh", "-c", live_daemon.PROBE], capture_output=True, text=True)
    assert done.returncode in (0, 1, 127) and "syntax error" not in done.stderr

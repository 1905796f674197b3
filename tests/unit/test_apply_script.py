"""The apply script (templates/docker-apply.sh.j2) run by a real shell in a temporary directory,
with stand-ins for systemctl, docker and journalctl: what it restarts, restores and starts
again when dockerd comes back, refuses the new files, or hangs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agenthost.desired import DockerdFile
from agenthost.tasks.docker_daemon import checksum_command
from agenthost.templating import render

# dockerd "starts" unless daemon.json holds "refused"; with "hang" in it, systemctl hangs.
SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$CALLS"
case "$1" in
    restart) grep -q hang "$DAEMON_JSON" && exec sleep 60
             grep -q refused "$DAEMON_JSON" && exit 1
             touch "$UP" ;;
    stop) rm -f "$UP" ;;
    is-active) [ -e "$UP" ] ;;
esac
"""
DOCKER = """#!/bin/sh
case "$1 $2" in
    "info --format") echo '[name=seccomp] false' ;;
    "container ls") [ -e "$UP" ] && printf '%s\\n' $RUNNING ;;
    "container stop"|"container start") echo "docker $*" >> "$CALLS" ;;
esac
[ "$1" = info ] && [ ! -e "$UP" ] && exit 1
exit 0
"""


def stand_ins(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    journalctl = "#!/bin/sh\necho 'level=error msg=\"refused\"'\n"
    for name, text in (("systemctl", SYSTEMCTL), ("docker", DOCKER), ("journalctl", journalctl)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def apply(tmp_path: Path, daemon_json: str, timeout: int = 30,
          running: str = "ci-agent") -> tuple[int, list[str], str]:  # fmt: skip
    """Runs the script once dockerd is up and the good file was backed up by stamp S2 (the
    last healthy apply was S1); `daemon_json` is the new file. The exit code, the calls made,
    and what the script said."""
    path = tmp_path / "daemon.json"
    backups = tmp_path / "backups"
    (backups / f"S2{path.parent}").mkdir(parents=True, exist_ok=True)
    (backups / f"S2{path}").write_text("{}\n")
    path.write_text(daemon_json)
    (tmp_path / "up").touch()
    files = [DockerdFile(str(path))]
    script = render(
        "docker-apply.sh.j2", checksum=checksum_command(files), paths=[str(path)], undo=[],
        record=str(tmp_path / "record"), log=str(tmp_path / "log"), backups=str(backups),
        stamp="S3", daemon_json=str(path), timeout=timeout, agent_label="agenthost.agent",
    )  # fmt: skip
    (tmp_path / "record").write_text("old S1\n")
    env = {"PATH": f"{stand_ins(tmp_path)}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls"),
           "UP": str(tmp_path / "up"), "DAEMON_JSON": str(path), "RUNNING": running}  # fmt: skip
    done = subprocess.run(["sh", "-c", script], env=env, timeout=120)
    calls = (tmp_path / "calls").read_text().splitlines()
    return done.returncode, calls, (tmp_path / "log").read_text()


def test_the_agents_stopped_for_a_good_restart_are_started_again(tmp_path):
    code, calls, _ = apply(tmp_path, '{"debug": true}\n')
    assert code == 0
    stop, restart = calls.index("docker container stop ci-agent"), calls.index(
        "systemctl restart docker.socket docker.service")
    assert stop < restart < calls.index("docker container start ci-agent")
    assert (tmp_path / "record").read_text().endswith(" S3\n")


def test_the_agents_stopped_for_a_refused_restart_are_started_after_the_rollback(tmp_path):
    code, calls, said = apply(tmp_path, '{"refused": true}\n')
    assert code == 1
    assert (tmp_path / "daemon.json").read_text() == "{}\n"  # the backup of S2
    assert calls.count("systemctl restart docker.socket docker.service") == 2
    assert calls[-1] == "docker container start ci-agent"
    assert "the previous files are restored" in said and "refused" in said


def test_a_hung_dockerd_is_stopped_after_the_timeout_and_rolled_back(tmp_path):
    code, calls, said = apply(tmp_path, '{"hang": true}\n', timeout=2)
    assert code == 1
    assert "docker.service did not start within 2 s (docker_start_timeout)" in said
    assert "systemctl stop docker.service docker.socket" in calls
    assert (tmp_path / "daemon.json").read_text() == "{}\n"
    assert calls[-1] == "docker container start ci-agent"


def test_a_dockerd_that_was_down_starts_no_agent_it_did_not_stop(tmp_path):
    (tmp_path / "calls").touch()
    code, calls, _ = apply(tmp_path, "{}\n", running="")
    assert code == 0 and not [call for call in calls if call.startswith("docker container")]

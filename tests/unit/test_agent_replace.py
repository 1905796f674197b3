"""Agent containers are replaced only once the new one runs: the operation (facts in, commands
out) and the replacement script, run by a real shell against a stand-in `docker` that plays a
container that starts, one that crash-loops and one that Docker refuses."""

import os
import subprocess

import pytest

from agenthost import replace
from agenthost.settings import AgentContainer
from agenthost.tasks.agent_containers import agent_container
from tests.unit.harness import run_op

JENKINS = {"jenkins": {"uid": 1001, "gid": 1001, "home": "/home/jenkins", "group": "jenkins"}}
IMAGE = [{"Id": "sha256:image"}]


def facts(current=None, cores=2):
    return {"UserAccount": JENKINS, "DockerImage": {"agent:1": IMAGE},
            "ContainerSpec": {"ci": current}, "Cpus": cores}  # fmt: skip


def planned(spec, current=None, cores=2):
    return run_op(agent_container, facts(current, cores), spec=spec, user="jenkins",
                  workspace="/srv/ws", userns_agent="root",
                  socket="/run/agenthost-docker/container-ci.sock")  # fmt: skip


def digest_of(spec):
    command = planned(spec).commands[0]
    return command.split("agenthost.spec=")[1].split()[0]


SPEC = AgentContainer(name="ci", image="agent:1", memory="1g", cpus=1)
LIMITS = {"memory": 2**30, "nano_cpus": 10**9}


def test_a_running_agent_with_its_spec_and_limits_is_a_noop():
    current = {"status": "running", "spec": digest_of(SPEC), **LIMITS}
    assert planned(SPEC, current).noops == ["ci runs the configured spec"]


@pytest.mark.parametrize("status", ["restarting", "exited"])
def test_a_crash_looping_or_stopped_agent_is_restarted_and_must_stay_up(status):
    current = {"status": status, "spec": digest_of(SPEC), **LIMITS}
    (command,) = planned(SPEC, current).commands
    assert command.startswith("docker container restart ci >/dev/null && {")
    assert "sleep 5" in command and '"$2" != "$r0"' in command


def test_limits_changed_by_docker_update_recreate_the_agent():
    current = {"status": "running", "spec": digest_of(SPEC), "memory": 2**31, "nano_cpus": 10**9}
    (command,) = planned(SPEC, current).commands
    assert "docker container create" in command and "--name ci-agenthost-next" in command


FAKE_DOCKER = r"""#!/bin/sh
# A stand-in docker: containers are files in $STATE; the mode says how a new one behaves.
echo "$*" >>"$STATE/calls"
health() {  # MODE slow: a health check starting for 25 inspections, then healthy
    [ "$MODE" = slow ] || { echo "running 0 none"; return; }
    n=$(( $(cat "$STATE/n" 2>/dev/null || echo 0) + 1 )); echo $n >"$STATE/n"
    [ $n -lt 25 ] && echo "running 0 starting" || echo "running 0 healthy"
}
cmd=$2
for last; do :; done
case "$cmd" in
  create) name=$(echo "$*" | sed 's/.*--name \([^ ]*\).*/\1/')
          [ "$MODE" = refused ] && { echo "Range of CPUs is from 0.01 to 2.00" >&2; exit 1; }
          echo created >"$STATE/$name" ;;
  inspect) [ -e "$STATE/$last" ] || exit 1
           case "$4" in *Error*) echo "boom exit code 1" ;; "{{.RestartCount}}") echo 0 ;;
             *) if [ "$(cat "$STATE/$last")" = running ]; then
                  case "$last" in *-next) [ "$MODE" = crash ] && echo "restarting 3 none" \
                    || health "$last" ;; *) echo "running 0 none" ;; esac
                else echo "exited 0 none"; fi ;; esac ;;
  start) echo running >"$STATE/$last" ;;
  stop) echo exited >"$STATE/$last" ;;
  rm) rm -f "$STATE/$last" ;;
  rename) mv "$STATE/$3" "$STATE/$4" ;;
esac
"""


@pytest.fixture
def docker(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    (bin_dir / "sleep").write_text("#!/bin/sh\n")  # no waiting in unit tests
    (bin_dir / "sleep").chmod(0o755)
    (tmp_path / "ci").write_text("running\n")
    return tmp_path


def replace_with(state, mode, stop_old_first=False, wait=180):
    args = ["--name", "ci", "--cpus", "1.0", "agent:1"]
    env = {**os.environ, "STATE": str(state), "MODE": mode,
           "PATH": f"{state / 'bin'}:{os.environ['PATH']}"}  # fmt: skip
    script = replace.replace_script("ci", args, stop_old_first, wait)
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)


@pytest.mark.parametrize("stop_old_first", [False, True])
def test_a_new_agent_that_runs_takes_the_name_and_the_old_one_goes(docker, stop_old_first):
    result = replace_with(docker, "ok", stop_old_first)
    assert result.returncode == 0, result.stderr
    assert (docker / "ci").read_text() == "running\n"
    assert not (docker / "ci-agenthost-next").exists()
    calls = (docker / "calls").read_text()
    assert calls.index("create") < calls.index("container stop ci") and "rename" in calls


@pytest.mark.parametrize("mode", ["refused", "crash"])
@pytest.mark.parametrize("stop_old_first", [False, True])
def test_a_new_agent_that_does_not_run_leaves_the_old_one_running(docker, mode, stop_old_first):
    result = replace_with(docker, mode, stop_old_first)
    assert result.returncode != 0
    assert (docker / "ci").read_text() == "running\n"
    assert not (docker / "ci-agenthost-next").exists()
    if mode == "refused":
        assert "Range of CPUs" in result.stderr
    else:
        assert "ci-agenthost-next is restarting (restarts: 3" in result.stderr
        assert "ci was not replaced" in result.stderr


def test_a_health_check_that_takes_its_time_is_waited_for_out_loud(docker):
    result = replace_with(docker, "slow")
    assert result.returncode == 0, result.stderr
    said = result.stdout.splitlines()
    assert said == [
        *(f"ci: running, waiting for its health check to pass ({s} s so far, 185 s at most)"
          for s in (5, 15, 25)),  # fmt: skip
        "ci is healthy after 29 s",
    ]
    assert (docker / "ci").read_text() == "running\n"


def test_a_health_check_slower_than_health_timeout_leaves_the_old_agent(docker):
    result = replace_with(docker, "slow", wait=10)
    assert result.returncode != 0
    assert "ci-agenthost-next is not healthy after 10 s" in result.stderr
    assert (docker / "ci").read_text() == "running\n"  # the old agent kept its name and runs
    assert "ci: running, waiting for its health check to pass (5 s so far, 15 s at most)" in (
        result.stdout
    )


def test_health_timeout_bounds_the_wait_of_a_restarted_agent_too():
    spec = SPEC.model_copy(update={"health_timeout": 42})
    current = {"status": "exited", "spec": digest_of(SPEC), **LIMITS}
    (command,) = planned(spec, current).commands
    assert "-ge 42 ]" in command and "not healthy after 42 s" in command


class _Host:
    def run_shell_command(self, command, **arguments):
        self.arguments = arguments
        return True, []


@pytest.mark.parametrize("current", [None, {"status": "exited", "spec": "", **LIMITS}])
def test_waits_for_an_agent_are_shown_as_they_come_even_without_v(current):
    if current:
        current["spec"] = digest_of(SPEC)
    (command,) = planned(SPEC, current).yielded
    host, state = _Host(), type("State", (), {"print_output": False, "print_input": False})
    command.execute(state, host, {"_sudo": True})
    assert host.arguments == {"print_output": True, "print_input": False, "_sudo": True}

"""Jenkins pipelines on agenthost hosts, both docker_userns_agent modes, on both releases.

What Jenkins runs on an agent host is replayed command for command (agenthost_lab.pipeline):
from a real SSH session as the agent (its key from agent_ssh_authorized_keys, the host key from
`agenthost known-hosts`) and from inside a Docker-out-of-Docker agent container. Each (agent
kind, mode) cell of the README's "Connecting Jenkins" table is one test: unchanged, the flows the
table marks fail as it says; with the table's one-line change, every flow passes and deleteDir()
leaves nothing. The hosts converge in `root` mode, switch to `uid`, and switch back.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenthost.agent_container import SECRET_MOUNT
from agenthost_lab import agent_image, pipeline, state
from tests.e2e import escapes
from tests.e2e.jenkins_support import (  # noqa: F401 (fixtures: files, known_hosts)
    AGENT,
    IMAGE,
    INBOUND,
    OPERATOR,
    PROXY,
    SECRET,
    WORKSPACE,
    agent_ids,
    as_agent_over_ssh,
    check_cell,
    converge,
    files,
    inspect,
    inventory,
    known_hosts,
    no_trace_left,
    operator_container,
    ssh_root,
)
from tests.e2e.runner import PYINFRA, REPO, SET, deploy


@pytest.fixture(scope="module")
def root_mode(hosts, files):
    return converge(inventory(files, "root"))


def test_root_mode_rerun_changes_nothing(files, root_mode):
    assert deploy(inventory=inventory(files, "root")).changed() == {}


def test_agents_run_remapped_as_container_root_through_their_policy_socket(hosts, root_mode):
    for host in hosts:
        uid, _ = agent_ids(host)
        for name in (AGENT, INBOUND):
            container = inspect(host, name)
            assert container["Config"]["User"] == "0:0"
            assert container["HostConfig"]["UsernsMode"] == ""
            assert not container["HostConfig"]["GroupAdd"]
            status = ssh_root(host, f"cat /proc/{container['State']['Pid']}/status").stdout
            assert f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}" in status, "the agent, seen from the host"
        assert AGENT in ssh_root(host, f"docker exec {AGENT} docker ps --format '{{{{.Names}}}}'"
                                 ).stdout.split()  # fmt: skip
        real = ssh_root(host, "getfacl -cp /run/docker.sock; stat -c '%a %U %G' /run/docker.sock")
        assert "user:jenkins" not in real.stdout and "660 root docker" in real.stdout


def test_agents_keep_docker_across_a_docker_socket_restart(hosts, root_mode):
    """The policy socket is systemd's, not dockerd's: agents reach the new dockerd through it
    without being restarted."""
    for host in hosts:
        version = f"docker exec {AGENT} docker version --format '{{{{.Server.Version}}}}'"
        restart = ssh_root(host, f"systemctl restart docker.socket docker.service && {version}")
        assert restart.returncode == 0, restart.stderr


def test_inbound_agent_runs_with_init_its_secret_and_the_proxies(hosts, root_mode):
    for host in hosts:
        container = inspect(host, INBOUND)
        assert container["HostConfig"]["Init"] is True
        env = ssh_root(host, f"docker exec {INBOUND} env").stdout.splitlines()
        # The secret is a file the agent reads (remoting's -secret @file), not in its environment.
        assert SECRET not in json.dumps(container)
        assert ssh_root(host, f"docker exec {INBOUND} cat {SECRET_MOUNT}").stdout == SECRET
        assert {f"JENKINS_SECRET=@{SECRET_MOUNT}", "JENKINS_URL=https://jenkins.invalid/",
                "JENKINS_AGENT_NAME=inbound-1", "JENKINS_WEB_SOCKET=true",
                f"JENKINS_AGENT_WORKDIR={WORKSPACE}", f"HTTPS_PROXY={PROXY}",
                f"https_proxy={PROXY}"} <= set(env)  # fmt: skip
        assert SECRET not in json.dumps(container["Config"]["Labels"])
        assert not inspect(host, AGENT)["HostConfig"].get("Init"), "only inbound agents"
        # CIS 5.27 by default, the lab image having no HEALTHCHECK: both healthy, once their
        # checks ran again after the restart of Docker above (a check every 30 s).
        health = {name: inspect(host, name)["Config"]["Healthcheck"]["Test"]
                  for name in (AGENT, INBOUND)}  # fmt: skip
        assert health == {AGENT: ["CMD-SHELL", "docker version"],
                          INBOUND: ["CMD-SHELL", "grep -q . /proc/1/task/1/children"]}
        deadline = time.monotonic() + 120
        while (states := {inspect(host, name)["State"]["Health"]["Status"] for name in health}
               ) == {"starting"} or states == {"starting", "healthy"}:  # fmt: skip
            assert time.monotonic() < deadline, f"{host.name}: still {states}"
            time.sleep(3)
        assert states == {"healthy"}


@pytest.mark.parametrize("kind", ["ssh", "container"])
def test_root_mode_pipelines(hosts, files, known_hosts, root_mode, kind):
    check_cell(hosts, files, known_hosts, kind, "root")


# --- the Docker policy: no build becomes root on its host ---------------------------------------

@pytest.mark.parametrize("where", ["agent container", "build container", "ssh agent"])
def test_no_build_becomes_root_on_its_host(hosts, files, known_hosts, root_mode,
                                         operator_container, where):  # fmt: skip
    workspace = f"{WORKSPACE}/workspace/escape"
    script = escapes.cli_script(escapes.cli(IMAGE, workspace, operator_container))
    build = (f"cid=$(docker run -t -d -u 0:0 --volumes-from {AGENT} --entrypoint cat {IMAGE})"
             f" && docker exec $cid sh -c {shlex.quote(script)}; docker rm -f $cid >/dev/null")
    for host in hosts:
        if where == "ssh agent":
            done = as_agent_over_ssh(host, files, known_hosts, script)
        else:
            inner = script if where == "agent container" else build
            done = ssh_root(host, pipeline.in_container(AGENT, inner))
        lines = [line for line in done.stdout.splitlines() if line.split(" ")[0] in
                 ("REFUSED", "ALLOWED", "OTHER")]  # fmt: skip
        assert len(lines) == len(escapes.cli(IMAGE, workspace, OPERATOR)), done.stdout + done.stderr
        wrong = [line for line in lines if not line.startswith("REFUSED")]
        assert wrong == ["ALLOWED a plain run is allowed (control)"], (host.name, where, wrong)
        no_trace_left(host)
        ssh_root(host, f"rm -rf {workspace}")


def test_raw_http_cannot_fool_the_policy(hosts, files, known_hosts, root_mode):
    for host in hosts:
        made = as_agent_over_ssh(host, files, known_hosts, f"docker create --name start-me {IMAGE}")
        assert made.returncode == 0, made.stderr
        requests = {k: v.decode("latin-1") for k, v in escapes.raw_requests("start-me").items()}
        for socket in ("account", f"container-{AGENT}"):
            done = as_agent_over_ssh(
                host, files, known_hosts,
                f"python3 -c {shlex.quote(escapes.RAW_CLIENT)} /run/agenthost-docker/{socket}.sock",
                stdin=json.dumps(requests),
            )  # fmt: skip
            answers = dict(json.loads(line) for line in done.stdout.splitlines())
            assert set(answers) == set(requests), done.stderr
            for name, answer in answers.items():
                status = answer.split(" ", 2)[1] if answer else "none"
                if name == "pipelined after a ping":
                    assert status == "200" and answer.count("HTTP/1.1") == 1, answer
                else:
                    assert status in ("400", "403"), (name, answer)
                    assert "agenthost docker policy refuses" in answer, (name, answer)
        assert ssh_root(host, "docker inspect -f '{{.State.Status}}' start-me").stdout.strip() \
            == "created"
        ssh_root(host, "docker rm -f start-me")
        no_trace_left(host)


def test_a_killed_policy_comes_back_and_nothing_else_stops(hosts, files, root_mode):
    unit = f"agenthost-docker-policy@container-{AGENT}"
    agent_ps = f"docker exec {AGENT} docker ps --format '{{{{.Names}}}}'"
    for host in hosts:
        killed = ssh_root(host, f"{agent_ps} >/dev/null && systemctl kill -s KILL {unit}.service"
                                f" && docker ps -q >/dev/null && echo operator-ok && {agent_ps}")
        assert "operator-ok" in killed.stdout and AGENT in killed.stdout.split(), killed.stderr
        # Down for good (socket and service stopped): agents are refused, the rest runs.
        down = ssh_root(host, f"systemctl stop {unit}.socket {unit}.service; {agent_ps};"
                              " docker ps --format '{{.Names}}'")  # fmt: skip
        assert "Cannot connect" in down.stdout + down.stderr and AGENT in down.stdout.split()
    run = deploy(inventory=inventory(files, "root"))
    assert run.returncode == 0, run.output
    assert set(run.changed()) == {f"Docker policy | Policy socket /run/agenthost-docker/"
                                  f"container-{AGENT}.sock is listening"}, run.changed()
    for host in hosts:
        assert AGENT in ssh_root(host, agent_ps).stdout.split(), "the agent reaches Docker again"
    # After the escape attempts and the outage: nothing drifted, and a re-run changes nothing.
    path = inventory(files, "root")
    drift = subprocess.run([sys.executable, "-m", "agenthost", "drift", str(path)], cwd=REPO,
                           env={**os.environ, "AGENTHOST_REHEARSAL_SET": SET},
                           capture_output=True, text=True)  # fmt: skip
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert deploy(inventory=path).changed() == {}


# --- uid mode: the agent's own uid is the agent -----------------------------------------------

@pytest.fixture(scope="module")
def uid_mode(hosts, files, root_mode):
    return converge(inventory(files, "uid"))


def test_switch_to_uid_moves_the_data_root_and_brings_images_and_agents_back(hosts, uid_mode):
    changed = uid_mode.changed()
    assert any(name.startswith("Docker images | Images agenthost-lab") for name in changed)
    for host in hosts:
        uid, gid = agent_ids(host)
        # Named after the first range of each file: container root's ids on the host.
        starts = ssh_root(host, "for f in /etc/subuid /etc/subgid; do"
                                " grep -m1 '^jenkins:' $f | cut -d: -f2; done").stdout.split()
        assert len(starts) == 2 and uid not in starts
        info = ssh_root(host, "docker info --format '{{.DockerRootDir}}'").stdout.strip()
        assert info == f"/var/lib/docker/{starts[0]}.{starts[1]}"
        for name in (AGENT, INBOUND):
            container = inspect(host, name)
            assert container["State"]["Status"] == "running"
            assert container["Config"]["User"] == f"{uid}:{gid}"
        # As the agent's own uid inside, the inbound agent still reads its secret's file.
        read = ssh_root(host, f"docker exec {INBOUND} cat {SECRET_MOUNT}")
        assert read.stdout == SECRET, read.stderr
        # The agents of root mode are stopped in the old data root, not running on unseen.
        loops = ssh_root(host, "pgrep -c -f '^/bin/sh -c trap'").stdout.strip()
        assert loops == "2", f"{host.name}: exactly the two agents run"


def test_uid_mode_rerun_changes_nothing_in_two_round_trips(hosts, files, uid_mode):
    """Two agent containers: one `docker container inspect` reads both, in the second snapshot."""
    run = deploy("-vvv", inventory=inventory(files, "uid"))
    assert run.changed() == {}
    reads = run.facts_read()
    assert set(reads) == {h.name for h in hosts}
    assert all(facts == ["Snapshot", "Snapshot"] for facts in reads.values()), reads
    # -vvv prints each command once: one inspect in each host's second snapshot.
    assert run.stderr.count("docker container inspect") == len(hosts)


@pytest.mark.parametrize("kind", ["ssh", "container"])
def test_uid_mode_pipelines(hosts, files, known_hosts, uid_mode, kind):
    check_cell(hosts, files, known_hosts, kind, "uid")


def test_java_older_than_17_is_refused_before_any_host_is_touched(files, uid_mode):
    run = deploy(inventory=inventory(files, "uid", agent_java="openjdk-11-jre-headless"))
    assert run.returncode != 0
    assert "agent_java = 'openjdk-11-jre-headless': gives Java 11" in run.output
    assert "no host was changed" in run.output


def test_java_on_the_host_is_checked(hosts, files, uid_mode):
    # A `java` that answers as Java 11 would, ahead of any real one on the PATH.
    fake = "#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n"
    for host in hosts:
        ssh_root(host, f"printf %s {shlex.quote(fake)} > /usr/local/bin/java"
                       " && chmod 755 /usr/local/bin/java")
    try:
        # Any installed package stands in for the JRE: the check reads `java -version`.
        run = deploy(inventory=inventory(files, "uid", agent_java="ca-certificates"))
    finally:
        for host in hosts:
            ssh_root(host, "rm -f /usr/local/bin/java")
    assert run.returncode != 0
    assert "agent_java = 'ca-certificates': Java 11 on" in run.output
    assert "Jenkins agents need Java 17 or newer" in run.output


# --- and back -----------------------------------------------------------------------------------

def test_switch_back_to_root_converges(hosts, files, uid_mode):
    converge(inventory(files, "root"))
    assert deploy(inventory=inventory(files, "root")).changed() == {}
    for host in hosts:
        uid, gid = agent_ids(host)
        info = ssh_root(host, "docker info --format '{{.DockerRootDir}}'").stdout.strip()
        assert info == f"/var/lib/docker/{uid}.{gid}"
        assert inspect(host, AGENT)["Config"]["User"] == "0:0"
        ps = ssh_root(host, f"docker exec {AGENT} docker ps --format '{{{{.Names}}}}'")
        assert AGENT in ps.stdout.split(), ps.stderr
        assert ssh_root(host, "pgrep -c -f '^/bin/sh -c trap'").stdout.strip() == "2"


# --- the quickstart -----------------------------------------------------------------------------

def test_quickstart_inventory_runs_the_agent_and_the_replay_passes(hosts, uid_mode):
    """What scripts/rehearse does after `up`, on the session's hosts."""
    agenthost = str(Path(PYINFRA).with_name("agenthost"))
    tarball = state.state_dir(SET) / agent_image.FILE_NAME
    try:
        made = subprocess.run([agenthost, "rehearsal", "agent-image", "--set", SET], cwd=REPO,
                              capture_output=True, text=True)  # fmt: skip
        assert made.returncode == 0 and tarball.exists(), made.stderr
        run = deploy()  # inventory/rehearsal.py
        assert run.returncode == 0, run.output
        assert f"Agent containers | Agent container {AGENT} runs the configured spec" in (
            run.changed()
        )
        replayed = subprocess.run([agenthost, "rehearsal", "pipeline", "--set", SET], cwd=REPO,
                                  capture_output=True, text=True)  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert replayed.stdout.count("  ok   ") == len(pipeline.FLOWS) * len(hosts)
        assert "deleteDir()" in replayed.stdout
    finally:  # the other modules' deploys of inventory/rehearsal.py run no agent
        tarball.unlink(missing_ok=True)

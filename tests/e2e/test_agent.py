"""The CI agent: SSH agent access, a Docker-out-of-Docker agent container from a preloaded image
tarball, the clean-up timer and an agent image built on the host, on both releases."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from agenthost.settings import AGENT_IMAGE_PACKAGES
from agenthost.templating import render
from agenthost_lab.rehearsal_image import MIRROR
from tests.e2e.runner import deploy, write_inventory

BASE = "agenthost-test/debian:trixie"
IMAGE = "agenthost-test/agent:1"
AGENT = "ci-agent"
SPEC_OP = f"Agent containers | Agent container {AGENT} runs the configured spec"
WORKSPACE = "/var/lib/agenthost/workspace"
SECRET = "s3cr3t-token-4711"
DRAIN_SECONDS = 12  # longer than docker's default stop timeout (10 s), shorter than ours
# The agent finishes its "build" on SIGTERM, taking DRAIN_SECONDS, and leaves a note of it.
AGENT_COMMAND = [
    "sh", "-c",
    f"trap 'echo TERM > {WORKSPACE}/stop-signal; sleep {DRAIN_SECONDS};"
    f" echo drained >> {WORKSPACE}/stop-signal; exit 0' TERM; while :; do sleep 1; done",
]  # fmt: skip
SMALL_PACKAGES = [p for p in AGENT_IMAGE_PACKAGES if p.split("=")[0] in ("docker-cli", "tini")]


def docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=True, capture_output=True, **kwargs)


def image_exists(reference: str) -> bool:
    inspect = subprocess.run(["docker", "image", "inspect", reference], capture_output=True)
    return inspect.returncode == 0


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> str:
    """The agent image, built here from our Dockerfile on a debootstrapped base, and the base."""
    if not image_exists(BASE):
        with tempfile.TemporaryDirectory() as root:
            subprocess.run(["debootstrap", "--variant=minbase", "trixie", root, MIRROR],
                           check=True, capture_output=True)  # fmt: skip
            for junk in ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/lib/apt/lists"):
                shutil.rmtree(Path(root, junk), ignore_errors=True)
            tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
            docker("import", "--change", 'CMD ["bash"]', "-", BASE, stdin=tar.stdout)
            assert tar.wait() == 0
    dockerfile = render("Dockerfile.agent.j2", base=BASE, packages=SMALL_PACKAGES,
                        user="jenkins", uid=1000, gid=1000)  # fmt: skip
    context = tmp_path_factory.mktemp("agent-image")
    docker("build", "--tag", IMAGE, "--file", "-", str(context), input=dockerfile.encode())
    path = context / "agent-images.tar.gz"
    with path.open("wb") as out:
        save = subprocess.Popen(["docker", "save", BASE, IMAGE], stdout=subprocess.PIPE)
        subprocess.run(["gzip", "-1"], stdin=save.stdout, stdout=out, check=True)
        assert save.wait() == 0
    return str(path)


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("agent-secrets")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "controller@e2e",
                    "-f", str(directory / "controller")], check=True)  # fmt: skip
    (directory / "agent.env").write_text(f"AGENT_SECRET={SECRET}\n")
    return {"key": directory / "controller", "env_file": directory / "agent.env"}


def settings(tarball: str, secrets: dict[str, Path], **container) -> dict:
    return {
        "agent_ssh_authorized_keys": [Path(f"{secrets['key']}.pub").read_text().strip()],
        "docker_image_preload": [tarball],
        "docker_prune_until": "1s",  # so the leftover made a moment ago counts as old
        "agent_containers": [{
            "name": AGENT, "image": IMAGE, "command": AGENT_COMMAND,
            "environment": {"AGENT_NAME": AGENT}, "env_file": str(secrets["env_file"]),
            "memory": "256m", "cpus": 0.5, "labels": {"team": "ci"}, "stop_timeout": 30,
            "ports": ["8080:8080", "0.0.0.0:8081:8081"],
            **container,
        }],
    }  # fmt: skip


def agent_ids(remote) -> dict[str, str]:
    command = f"docker inspect -f '{{{{.Id}}}}' {AGENT}"
    return {name: host.check_output(command) for name, host in remote.items()}


def inspect(host) -> dict:
    return json.loads(host.check_output(f"docker container inspect {AGENT}"))[0]


@pytest.fixture(scope="module")
def inventory(hosts, tarball, secrets, tmp_path_factory) -> Path:
    return write_inventory(tmp_path_factory.mktemp("agent") / "inventory.py",
                           settings(tarball, secrets))  # fmt: skip


@pytest.fixture(scope="module")
def converged(inventory, remote):
    run = deploy("-vvv", inventory=inventory)
    assert run.returncode == 0, run.output
    return run, agent_ids(remote)


def test_first_run_starts_the_agent_and_prints_no_secret(hosts, converged):
    run, _ = converged
    assert set(run.changed()[SPEC_OP]) == {h.name for h in hosts}
    assert SECRET not in run.output


def test_rerun_changes_nothing_and_keeps_the_container(inventory, remote, converged):
    run = deploy(inventory=inventory)
    assert run.returncode == 0, run.output
    assert run.changed() == {}
    assert agent_ids(remote) == converged[1]


def test_ssh_agent_logs_in_with_the_listed_key_into_its_workspace(hosts, remote, secrets,
                                                                  converged):  # fmt: skip
    for h in hosts:
        login = subprocess.run(
            ["ssh", "-i", str(secrets["key"]), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-p", str(h.port), "jenkins@127.0.0.1",
             f"id -un; test -w {WORKSPACE} && echo writable"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert login.stdout.split() == ["jenkins", "writable"], login.stderr
        keys = remote[h.name].file("/home/jenkins/.ssh/authorized_keys")
        assert (keys.user, keys.mode) == ("jenkins", 0o600)
        assert [line for line in keys.content_string.splitlines() if not line.startswith("#")] == [
            Path(f"{secrets['key']}.pub").read_text().strip()
        ]
        workspace = remote[h.name].file(WORKSPACE)
        assert (workspace.user, workspace.is_directory) == ("jenkins", True)


def test_agent_runs_remapped_as_container_root_which_is_the_agent(remote, converged):
    for host in remote.values():
        uid = host.user("jenkins").uid
        container = inspect(host)
        status = host.file(f"/proc/{container['State']['Pid']}/status").content_string
        assert f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}" in status, "the process, seen from the host"
        assert host.check_output(f"docker exec {AGENT} id -u") == "0"
        assert container["Config"]["User"] == "0:0"
        assert not container["HostConfig"]["GroupAdd"], "the socket's ACL lets it in"
        assert container["HostConfig"]["UsernsMode"] == "", "remapped like any container"


def test_agent_container_has_the_configured_spec(remote, converged):
    for host in remote.values():
        container = inspect(host)
        config, host_config = container["Config"], container["HostConfig"]
        assert host_config["RestartPolicy"]["Name"] == "unless-stopped"
        assert host_config["Memory"] == 256 * 2**20 and host_config["NanoCpus"] == 500_000_000
        assert host_config["PidsLimit"] == 4096, "CIS 5.29, by default"
        assert config["StopTimeout"] == 30
        assert config["WorkingDir"] == WORKSPACE
        assert {"team": "ci", "agenthost.agent": AGENT}.items() <= config["Labels"].items()
        assert len(config["Labels"]["agenthost.spec"]) == 64
        binds = {(m["Source"], m["Destination"]) for m in container["Mounts"]}
        policy_socket = f"/run/agenthost-docker/container-{AGENT}.sock"
        assert {(policy_socket, "/var/run/docker.sock"), (WORKSPACE, WORKSPACE)} <= binds
        ports = host_config["PortBindings"]
        assert ports["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "8080"}]
        assert ports["8081/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "8081"}]
        assert "AGENT_NAME=ci-agent" in config["Env"]


def test_secret_reaches_the_agent_from_a_root_only_file(remote, converged):
    for host in remote.values():
        env_file = host.file(f"/etc/agenthost/{AGENT}.env")
        assert (env_file.user, env_file.group, env_file.mode) == ("root", "root", 0o600)
        assert host.file("/etc/agenthost").mode == 0o700
        assert host.check_output(f"docker exec {AGENT} printenv AGENT_SECRET") == SECRET
        assert SECRET not in json.dumps(inspect(host)["Config"]["Labels"])


def test_docker_inside_the_agent_drives_the_hosts_engine(remote, converged):
    names, inside = "docker ps --format '{{.Names}}'", f"docker exec {AGENT} docker"
    for host in remote.values():
        assert AGENT in host.check_output(f"docker exec {AGENT} {names}").split()
        host.run_expect([0], f"{inside} run -d --name e2e-sibling {BASE} sleep 60")
        assert "e2e-sibling" in host.check_output(names).split(), "a sibling, not a child"
        host.run_expect([0], "docker rm -f e2e-sibling")
        # A sibling started from inside the agent mounts the workspace by its host path.
        host.run_expect([0], f"{inside} run --rm --user 0 -v {WORKSPACE}:{WORKSPACE} {BASE}"
                             f" sh -c 'echo sibling > {WORKSPACE}/from-sibling'")  # fmt: skip
        made = host.file(f"{WORKSPACE}/from-sibling")
        assert made.content_string == "sibling\n"
        assert made.user == "jenkins"
        host.run_expect([0], f"su jenkins -c 'rm {WORKSPACE}/from-sibling'")
        assert not made.exists


def test_healthcheck_reports_healthy(remote, converged):
    # The image's HEALTHCHECK (docker version, every 30 s) runs as the agent, through the socket.
    deadline = time.monotonic() + 120
    pending = dict(remote)
    while pending and time.monotonic() < deadline:
        for name, host in list(pending.items()):
            if inspect(host)["State"]["Health"]["Status"] == "healthy":
                del pending[name]
        time.sleep(3)
    assert not pending, {name: inspect(h)["State"]["Health"] for name, h in pending.items()}


@pytest.fixture(scope="module")
def stopped(remote, converged):
    """`docker stop` on every agent, with how long each took."""
    took = {}
    for name, host in remote.items():
        started = time.monotonic()
        host.run_expect([0], f"docker stop {AGENT}")
        took[name] = time.monotonic() - started
    return took


def test_docker_stop_sends_sigterm_and_waits_for_the_agent(remote, stopped):
    for name, host in remote.items():
        assert host.file(f"{WORKSPACE}/stop-signal").content_string == "TERM\ndrained\n"
        assert inspect(host)["State"]["ExitCode"] == 0, "exited by itself, not SIGKILLed"
        assert DRAIN_SECONDS <= stopped[name] < 30, "waited past docker's default 10 s, not 30"


@pytest.fixture(scope="module")
def pruned(remote, stopped):
    """A dangling image made on each host, then the clean-up service the timer starts."""
    dangling = {}
    for name, host in remote.items():
        build = f"printf 'FROM {BASE}\\nLABEL run=%s\\n' {{}} | docker build -q -t e2e/leftover -"
        dangling[name] = host.check_output(build.format(1))
        host.run_expect([0], build.format(2))
        listed = host.check_output("docker images -q --no-trunc --filter dangling=true")
        assert listed == dangling[name]
    time.sleep(2)  # older than docker_prune_until
    for host in remote.values():
        host.run_expect([0], "systemctl start agenthost-docker-prune.service")
    return dangling


def test_prune_timer_removes_dangling_images_but_not_the_agents(remote, pruned):
    for name, host in remote.items():
        assert host.check_output("systemctl is-active agenthost-docker-prune.timer") == "active"
        assert host.check_output("systemctl is-enabled agenthost-docker-prune.timer") == "enabled"
        assert host.run(f"docker image inspect {pruned[name]}").rc != 0, "dangling image removed"
        host.run_expect([0], f"docker image inspect {IMAGE} {BASE}")
        assert inspect(host)["State"]["Status"] == "exited", "the stopped agent is kept"


def test_deploy_starts_a_stopped_agent_without_recreating_it(inventory, remote, converged, pruned):
    run = deploy(inventory=inventory)
    assert run.returncode == 0, run.output
    assert list(run.changed()) == [SPEC_OP]
    assert agent_ids(remote) == converged[1]
    assert all(inspect(h)["State"]["Status"] == "running" for h in remote.values())


def test_memory_change_recreates_the_agent_exactly_once(hosts, remote, tarball, secrets, converged,
                                                       pruned, tmp_path):  # fmt: skip
    before = agent_ids(remote)
    data = settings(tarball, secrets, memory="512m")
    inventory = write_inventory(tmp_path / "inventory.py", data)
    first = deploy(inventory=inventory)
    assert first.returncode == 0, first.output
    assert set(first.changed()) == {SPEC_OP}
    recreated = agent_ids(remote)
    assert all(recreated[name] != before[name] for name in before)
    assert all(inspect(h)["HostConfig"]["Memory"] == 512 * 2**20 for h in remote.values())
    again = deploy(inventory=inventory)
    assert again.changed() == {}
    assert agent_ids(remote) == recreated


def test_agent_image_is_built_on_the_host_when_asked(remote, tarball, secrets, converged, tmp_path):
    build = {"tag": "agenthost-test/agent:built", "base": BASE, "packages": SMALL_PACKAGES}
    data = {**settings(tarball, secrets, memory="512m"), "agent_image_build": build}
    inventory = write_inventory(tmp_path / "inventory.py", data)
    first = deploy(inventory=inventory)
    assert first.returncode == 0, first.output
    assert list(first.changed()) == [f"Docker images | Agent image {build['tag']} is built from the"
                                     " Dockerfile"]  # fmt: skip
    for host in remote.values():
        config = json.loads(host.check_output(f"docker image inspect {build['tag']}"))[0]["Config"]
        assert len(config["Labels"]["agenthost.dockerfile"]) == 64
        uid, gid = host.user("jenkins").uid, host.user("jenkins").gid
        assert config["User"] == f"{uid}:{gid}" and config["StopSignal"] == "SIGTERM"
        assert config["Healthcheck"]["Test"] == ["CMD", "docker", "version"]
        host.run_expect([0], f"docker run --rm --entrypoint docker {build['tag']} --version")
    assert deploy(inventory=inventory).changed() == {}

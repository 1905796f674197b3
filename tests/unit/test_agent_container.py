"""Agent containers' docker run arguments (ports and health checks: agenthost.docker_args), spec
hash, labels and the parts drift compares."""

import pytest
from pydantic import ValidationError

from agenthost.agent_container import (
    AGENT_LABEL,
    SPEC_LABEL,
    HostIds,
    labelled,
    run_args,
    spec_hash,
)  # fmt: skip
from agenthost.docker_args import health_args, publish
from agenthost.settings import AgentContainer, Settings

IDS = HostIds(uid=1001, gid=1001)
SOCKET = "/run/agenthost-docker/container-ci-agent.sock"
WORKSPACE = "/home/jenkins/workspace"


def spec(**changes) -> AgentContainer:
    return AgentContainer(name="ci-agent", image="agent:1", **changes)


def option_values(args: list[str], option: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == option]


@pytest.mark.parametrize(
    ("port", "published"),
    [
        ("8080:80", "127.0.0.1:8080:80"),
        ("80", "127.0.0.1::80"),
        ("5000:5000/udp", "127.0.0.1:5000:5000/udp"),
        ("8000-8010:8000-8010", "127.0.0.1:8000-8010:8000-8010"),
        ("0.0.0.0:8080:80", "0.0.0.0:8080:80"),
        ("10.0.0.5::80", "10.0.0.5::80"),
        ("[::1]:8080:80", "[::1]:8080:80"),
    ],
)
def test_ports_listen_on_localhost_unless_an_address_is_named(port, published):
    assert publish(port) == published


@pytest.mark.parametrize("port", ["", "http", "a:b:c:d", "1.2.3.4:80:80:80"])
def test_bad_port_specs_are_refused_by_the_settings(port):
    with pytest.raises(ValidationError, match="port spec"):
        spec(ports=[port])


def test_run_args_carry_the_dood_essentials():
    args = run_args(spec(), IDS, WORKSPACE, userns_agent=None, env_file=None, socket=SOCKET)
    assert option_values(args, "--user") == ["1001:1001"]
    assert "--group-add" not in args  # the docker group is root; the agent has its policy
    assert option_values(args, "--restart") == ["unless-stopped"]
    assert option_values(args, "--volume") == [
        f"{SOCKET}:/var/run/docker.sock",
        f"{WORKSPACE}:{WORKSPACE}",
    ]
    assert option_values(args, "--memory") == ["2g"]
    assert option_values(args, "--cpus") == ["2.0"]
    assert option_values(args, "--stop-timeout") == ["300"]
    assert option_values(args, "--label") == [f"{AGENT_LABEL}=ci-agent"]
    assert args[-1] == "agent:1"


def test_run_args_from_a_full_spec():
    args = run_args(
        spec(
            command=["sh", "-c", "exec sleep infinity"],
            environment={"B": "2", "A": "1"},
            volumes=["/srv/cache:/cache:ro"],
            ports=["8080:80"],
            memory="1g",
            cpus=0.5,
            labels={"team": "ci"},
            healthcheck=["CMD", "docker", "info"],
            stop_timeout=30,
        ),
        IDS,
        WORKSPACE,
        userns_agent="root",
        env_file="/etc/agenthost/ci-agent.env",
        socket=SOCKET,
    )
    assert option_values(args, "--env") == ["A=1", "B=2"]
    assert option_values(args, "--env-file") == ["/etc/agenthost/ci-agent.env"]
    assert "/srv/cache:/cache:ro" in option_values(args, "--volume")
    assert option_values(args, "--publish") == ["127.0.0.1:8080:80"]
    assert option_values(args, "--memory") == ["1g"]
    assert option_values(args, "--cpus") == ["0.5"]
    assert "team=ci" in option_values(args, "--label")
    assert option_values(args, "--health-cmd") == ["docker info"]
    assert option_values(args, "--stop-timeout") == ["30"]
    assert args[-4:] == ["agent:1", "sh", "-c", "exec sleep infinity"]


def test_unlimited_memory_and_cpus_pass_no_limit():
    args = run_args(spec(memory=None, cpus=None), IDS, WORKSPACE, "root", None, SOCKET)
    assert "--memory" not in args and "--cpus" not in args


@pytest.mark.parametrize(
    ("test", "args"),
    [
        (None, []),
        (["NONE"], ["--no-healthcheck"]),
        (["CMD", "docker", "version", "--format", "{{.Server.Version}}"],
         ["--health-cmd", "docker version --format '{{.Server.Version}}'"]),
        (["CMD-SHELL", "docker info >/dev/null"], ["--health-cmd", "docker info >/dev/null"]),
    ],
)  # fmt: skip
def test_healthcheck_forms(test, args):
    assert health_args(test) == args


@pytest.mark.parametrize("test", [["CMD"], ["CMD-SHELL", "a", "b"], ["curl", "x"]])
def test_bad_healthchecks_are_refused_by_the_settings(test):
    with pytest.raises(ValidationError, match="healthcheck"):
        spec(healthcheck=test)


def test_spec_hash_is_stable_and_sees_every_change():
    args = run_args(spec(), IDS, WORKSPACE, "root", None, SOCKET)
    digest = spec_hash(args, "sha256:image", None)
    assert digest == spec_hash(list(args), "sha256:image", None)
    changed = [
        spec_hash(run_args(spec(memory="1g"), IDS, WORKSPACE, "root", None, SOCKET),
                  "sha256:image", None),
        spec_hash(run_args(spec(), IDS, WORKSPACE, "uid", None, SOCKET), "sha256:image", None),
        spec_hash(run_args(spec(), IDS, WORKSPACE, "root", None, SOCKET + "2"),
                  "sha256:image", None),  # fmt: skip
        spec_hash(args, "sha256:rebuilt", None),
        spec_hash(args, "sha256:image", "secret-v2"),
    ]
    assert digest not in changed and len(set(changed)) == len(changed)


def test_spec_label_goes_before_the_image():
    args = labelled(run_args(spec(), IDS, WORKSPACE, "root", None, SOCKET), "abc")
    assert args[:2] == ["--label", f"{SPEC_LABEL}=abc"] and args[-1] == "agent:1"


def test_container_names_are_unique():
    with pytest.raises(ValidationError, match="unique"):
        Settings(agent_containers=[spec(), spec()])


def test_container_fact_reads_state_and_spec_label():
    from agenthost.tasks.agent_containers import ContainerSpec

    fact = ContainerSpec()
    assert fact.process([]) is None  # no such container
    assert fact.process(['running 2147483648 2000000000 {"agenthost.spec":"abc","team":"ci"}']) == {
        "status": "running", "spec": "abc", "memory": 2**31, "nano_cpus": 2 * 10**9,
        "parts": None,
    }  # fmt: skip
    assert fact.process(["exited 0 0 null"]) == {
        "status": "exited", "spec": None, "memory": 0, "nano_cpus": 0, "parts": None
    }
    parts = '{"agenthost.parts":"{\\"image\\": [\\"agent:1\\"]}"}'
    assert fact.process([f"running 0 0 {parts}"])["parts"] == {"image": ["agent:1"]}


def test_container_specs_are_read_by_one_inspect_as_each_alone():
    from agenthost.tasks.agent_containers import ContainerSpec, ContainerSpecs

    batch = ContainerSpecs()
    command = batch.command(values=("ci-1", "ci-2", "gone"))
    assert command.count("docker container inspect") == 1 and "{{.Name}}" in command
    alone = ContainerSpec().command(container="ci-1")
    assert alone == batch.command(values=("ci-1",)).replace("{{.Name}} ", "")  # the same fields
    printed = ['/ci-1 running 0 0 {"agenthost.spec":"abc"}', "/ci-2 exited 0 0 null"]
    assert batch.process(printed) == {  # "gone" is missing: its own command prints nothing
        "ci-1": ['running 0 0 {"agenthost.spec":"abc"}'], "ci-2": ["exited 0 0 null"],
    }  # fmt: skip
    assert ContainerSpec().process(batch.process(printed)["ci-1"])["spec"] == "abc"


def test_agents_get_a_pids_limit_and_a_health_check_by_default():
    """CIS 5.29 and 5.27: the defaults, each overridable per container."""
    def run(image_health=False, **changes):
        return run_args(spec(**changes), IDS, WORKSPACE, "root", None, SOCKET,
                        image_health=image_health)  # fmt: skip

    assert option_values(run(), "--pids-limit") == ["4096"]
    assert option_values(run(), "--health-cmd") == ["docker version"]
    inbound = run(kind="jenkins-inbound", env_file="e")
    assert option_values(inbound, "--health-cmd") == ["grep -q . /proc/1/task/1/children"]
    assert option_values(run(image_health=True), "--health-cmd") == [], "the image's own"
    assert "--no-healthcheck" in run(healthcheck=["NONE"])
    assert option_values(run(healthcheck=["CMD", "true"]), "--health-cmd") == ["true"]
    assert "--pids-limit" not in run(pids_limit=None)
    assert option_values(run(pids_limit=256), "--pids-limit") == ["256"]

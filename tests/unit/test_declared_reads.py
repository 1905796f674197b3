"""Every read the stages make is declared beside their @deploy (reads.declared), so that one
snapshot answers it: `agent_host()` is planned by pyinfra for many settings, on a fresh host and
on one with the agent, whose facts are answered here; any read outside the snapshot fails the
test (end to end, one only shows as a third command on a converged host).
"""

from __future__ import annotations

import pytest
from pyinfra.facts import files, server

from agenthost.reads.snapshot import Read
from tests.unit.harness import PlannedHost, plan_agent_host

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci"
ENV_FILE = "ENV_FILE"  # replaced by a file of the test's own, holding a secret
SETTINGS = [
    {},
    {"docker_userns_remap": True, "docker_userns_agent": "uid", "docker_users": ["alice"],
     "agent_uid": 1500, "agent_home": "/srv/jenkins"},  # fmt: skip
    {"docker_userns_remap": True, "docker_subid_count": 100000},
    {"docker_source": "docker-ce", "docker_version": "5:27.5.1-1~debian.12~bookworm",
     "docker_buildx": True, "docker_compose": True},  # fmt: skip
    {"docker_http_proxy": "http://proxy.example.com:3128", "docker_apt_proxy": True,
     "docker_https_proxy": "http://proxy.example.com:3128", "docker_no_proxy": ["localhost"]},
    {"agent_containers": [
        {"name": "ci-agent", "image": "agenthost-lab/agent:2", "memory": "256m", "cpus": 0.5,
         "env_file": ENV_FILE},
        {"name": "second", "image": "debian:12"},
        {"name": "inbound", "image": "jenkins/inbound-agent:3", "kind": "jenkins-inbound",
         "env_file": ENV_FILE},
    ]},  # fmt: skip
    {"agent_java": "openjdk-17-jre-headless", "agent_packages": ["git", "make"],
     "agent_ssh_authorized_keys": [KEY]},  # fmt: skip
    {"docker_image_pull": ["debian:12"], "agent_image_build": {"tag": "agenthost/agent:1"},
     "agent_containers": [{"name": "built", "image": "agenthost/agent:1"}]},
    {"docker_daemon_options": {"log-level": "warn"}, "docker_prune_until": "48h",
     "docker_users": ["alice", "bob"], "agent_user": "ci"},
]
# Reads no snapshot answers, each with why.
OUTSIDE = {
    # pyinfra's, once, for the temporary name of a file it uploads: only on a run that changes.
    server.TmpDir,
    # pyinfra's files.download (Docker's key, on docker-ce only) reads the key file itself, and
    # curl or wget when it downloads: a round trip per docker-ce host, even on a no-op.
    files.File,
    server.Which,
}


def reads_outside_the_snapshot(data: dict, fresh: bool) -> list[str]:
    """The reads of planning `agent_host()` with `data` that the snapshot did not answer."""
    outside: list[str] = []

    def read_alone(fact: type, arguments: dict) -> None:
        if fact not in OUTSIDE:
            outside.append(repr(Read(fact, **arguments)))

    plan_agent_host(data, PlannedHost(data.get("agent_user", "jenkins"), fresh), read_alone)
    return outside


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh host", "agent exists"])
@pytest.mark.parametrize("data", SETTINGS, ids=lambda data: ",".join(data) or "defaults")
def test_every_read_of_the_stages_is_declared(data, fresh, tmp_path):
    env_file = tmp_path / "agent.env"
    env_file.write_text("JENKINS_SECRET=s3cret\n")
    containers = [{**c, "env_file": str(env_file)} if c.get("env_file") == ENV_FILE else c
                  for c in data.get("agent_containers", [])]  # fmt: skip
    data = {**data, "agent_containers": containers} if containers else data
    assert reads_outside_the_snapshot(data, fresh) == []

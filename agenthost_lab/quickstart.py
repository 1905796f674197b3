"""The quickstart's main job: a Docker-out-of-Docker agent container on each rehearsal host, from
an image made on this machine, and a Docker Pipeline replayed through it.

`agenthost rehearsal agent-image` saves the image into the set's state directory; while it is
there, inventory/rehearsal.py gives the set's hosts the agent container (settings()).
`agenthost rehearsal pipeline` then replays the pipeline through it on every host.
"""

from __future__ import annotations

import logging
from typing import Any

from agenthost.settings import Settings
from agenthost_lab import agent_image, pipeline, state

log = logging.getLogger(__name__)

AGENT = "ci-agent"


def settings(set_name: str) -> dict[str, Any]:
    """The set's agent settings: none until `agenthost rehearsal agent-image` made the image."""
    tarball = state.state_dir(set_name) / agent_image.FILE_NAME
    if not tarball.exists():
        return {}
    return {
        "docker_image_preload": [str(tarball)],
        "agent_containers": [{
            "name": AGENT, "image": agent_image.TAG, "memory": "256m", "cpus": 0.5,
            "healthcheck": ["CMD", "docker", "version"], "stop_timeout": 10,
        }],
    }  # fmt: skip


def replay_all(set_name: str) -> bool:
    """The replay through the agent container of every host of the set; True when all passed."""
    ssh_config = state.state_dir(set_name) / "ssh_config"
    workspace = f"{Settings().agent_workspace}/workspace/quickstart"
    replay = pipeline.command(workspace, agent_image.TAG)
    passed = True
    for host in state.load_hosts(set_name):
        log.info("%s: replaying the pipeline in %s", host.name, AGENT)
        done = pipeline.ssh(ssh_config, host.name, pipeline.in_container(AGENT, replay))
        found = pipeline.results(done.stdout)
        print(pipeline.summary(host.name, f"in agent container {AGENT}", found))
        if done.returncode != 0 or any(found.get(flow) != "ok" for flow in pipeline.FLOWS):
            if done.stderr.strip():
                print(f"  ({done.stderr.strip()})")
            passed = False
    return passed

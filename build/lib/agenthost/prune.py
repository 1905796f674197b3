"""What the clean-up timer removes: old dangling images, stopped containers and build cache.

Never an image in use or one an agent container is configured to use: `docker image prune`
without --all removes only dangling (untagged) images, and Docker never removes an image any
container uses; stopped agent containers, which keep their image in use, are spared by label.
"""

from __future__ import annotations

from agenthost.agent_container import AGENT_LABEL
from agenthost.paths import PRUNE_UNIT
from agenthost.templating import render


def prune_commands(until: str) -> list[list[str]]:
    """One `docker ... prune` per kind of leftover, each limited to what is older than `until`."""
    age = ["--filter", f"until={until}"]
    return [
        ["docker", "container", "prune", "--force", *age, "--filter", f"label!={AGENT_LABEL}"],
        ["docker", "image", "prune", "--force", *age],
        ["docker", "builder", "prune", "--force", *age],
    ]


def unit_files(until: str, schedule: str) -> dict[str, str]:
    """The clean-up service and its timer, by path."""
    return {
        f"/etc/systemd/system/{PRUNE_UNIT}.service": render(
            f"{PRUNE_UNIT}.service.j2", until=until, commands=prune_commands(until)
        ),
        f"/etc/systemd/system/{PRUNE_UNIT}.timer": render(
            f"{PRUNE_UNIT}.timer.j2", schedule=schedule
        ),
    }

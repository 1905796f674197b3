"""What the clean-up timer removes: old dangling images, stopped containers and build cache.

Never an image in use or one an agent container is configured to use: `docker image prune`
without --all removes only dangling (untagged) images, and Docker never removes an image any
container uses; stopped agent containers, which keep their image in use, are spared by label.
"""

from __future__ import annotations

from agenthost.agent_container import AGENT_LABEL


def prune_commands(until: str) -> list[list[str]]:
    """One `docker ... prune` per kind of leftover, each limited to what is older than `until`."""
    age = ["--filter", f"until={until}"]
    return [
        ["docker", "container", "prune", "--force", *age, "--filter", f"label!={AGENT_LABEL}"],
        ["docker", "image", "prune", "--force", *age],
        ["docker", "builder", "prune", "--force", *age],
    ]

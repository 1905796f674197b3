from pyinfra.api import deploy

from agenthost.settings import Settings
from agenthost.tasks.ops import Managed, subid_file


@deploy("Docker userns-remap ids")
def docker_userns(settings: Settings) -> list[Managed]:
    """Container root is the agent user: its first subuid/subgid range is its own id."""
    if not settings.docker_userns_remap:
        return []
    user, count = settings.agent_user, settings.docker_subid_count
    return [
        Managed(
            subid_file(
                name=f"{path} maps container root to {user}, then {count} free ids",
                path=path,
                user=user,
                count=count,
            ),
            path,
            lines=f"{user}:",
        )
        for path in ("/etc/subuid", "/etc/subgid")
    ]

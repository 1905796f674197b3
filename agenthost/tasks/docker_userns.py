"""The userns-remap ids stage: /etc/subuid and /etc/subgid give the agent user the ids dockerd
maps containers to (container root is the agent, or the agent keeps its own id), applied by
the one restart."""

from pyinfra.api import deploy
from pyinfra.facts.files import FileContents

from agenthost import desired, engine
from agenthost.operations.accounts import subid_file
from agenthost.operations.files import ManagedFileState
from agenthost.operations.plan import Managed
from agenthost.paths import SUBID_FILES
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read
from agenthost.settings import Settings


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    paths = SUBID_FILES if settings.docker_userns_remap else ()
    return [Read(fact, path=path) for path in paths for fact in (FileContents, ManagedFileState)]


@declares(_reads)
@deploy("Docker userns-remap ids")
def docker_userns(settings: Settings) -> list[Managed]:
    """The agent user is container root, or its own uid, as docker_userns_agent says."""
    if not settings.docker_userns_remap:
        return []
    user, count, mode = settings.agent_user, settings.docker_subid_count, settings.userns_agent
    who = "container root" if mode == "root" else f"{user}'s own id in containers"
    return [
        Managed(
            subid_file(
                name=f"{path} maps {who} to {user}, then {count} free ids",
                path=path,
                user=user,
                count=count,
                mode=mode,
            )
        )
        for path in SUBID_FILES
    ]

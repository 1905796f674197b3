from pyinfra.api import deploy
from pyinfra.operations import apt, files

from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account
from agenthost.tasks.ops import managed_file, managed_file_absent

HEADER = "# Managed by agenthost from agent_ssh_authorized_keys: exactly these keys."


@deploy("Agent access")
def agent_access(settings: Settings) -> None:
    """What SSH build agents need: a workspace, exactly the listed keys, optionally Java."""
    user, workspace = settings.agent_user, settings.agent_workspace
    home, group = agent_account(settings)
    files.directory(
        name=f"Workspace {workspace} belongs to {user}",
        path=workspace,
        user=user,
        group=group,
        mode="750",
    )
    files.directory(
        name=f"{home}/.ssh belongs to {user}, 0700",
        path=f"{home}/.ssh",
        user=user,
        group=group,
        mode="700",
    )
    keys = settings.agent_ssh_authorized_keys
    path = f"{home}/.ssh/authorized_keys"
    if keys:
        managed_file(
            name=f"{path} holds exactly the {len(keys)} configured key(s)",
            path=path,
            content="".join(f"{line}\n" for line in [HEADER, *keys]),
            mode="600",
            user=user,
            group=group,
        )
    else:
        managed_file_absent(name=f"{path} does not exist: no key is configured", path=path)
    if settings.agent_java:
        apt.packages(
            name=f"Java runtime {settings.agent_java} is installed",
            packages=[settings.agent_java],
            update=True,
            cache_time=24 * 3600,
        )

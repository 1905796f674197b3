from pyinfra.api import deploy
from pyinfra.operations import files

from agenthost import desired
from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account
from agenthost.tasks.ops import desired_file, managed_file_absent
from agenthost.tasks.packages import packages_installed


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
    keys = desired.authorized_keys(settings, desired.Account(home, group))
    if keys.content:
        count = len(settings.agent_ssh_authorized_keys)
        desired_file(keys, f"{keys.path} holds exactly the {count} configured key(s)")
    else:
        desired_file(keys, f"{keys.path} does not exist: no key is configured")
    # sshd reads authorized_keys2 too (Debian's AuthorizedKeysFile): keys there bypass the list.
    managed_file_absent(
        name=f"{home}/.ssh/authorized_keys2 does not exist: keys are only the listed ones",
        path=f"{home}/.ssh/authorized_keys2",
    )
    if settings.agent_java:
        packages_installed(
            name=f"Java runtime {settings.agent_java} is installed",
            packages=[settings.agent_java],
        )

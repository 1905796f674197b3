from pyinfra import host
from pyinfra.api import OperationError, deploy

from agenthost import desired
from agenthost.settings import Settings
from agenthost.tasks.basics import group_present
from agenthost.tasks.docker_group import group_members_exactly
from agenthost.tasks.facts import UserAccount
from agenthost.tasks.ops import Managed, desired_file
from agenthost.tasks.packages import packages_installed
from agenthost.tasks.snapshot import read


@deploy("Docker socket")
def docker_socket(settings: Settings) -> list[Managed]:
    """Only root and the docker group reach the socket; never a world-writable chmod. Under
    userns-remap, the agent user too, by an ACL entry: remapped agent containers are the agent."""
    group_present(name="Group docker exists", group="docker")
    if settings.docker_userns_remap:
        packages_installed(
            name="setfacl is installed (acl)",
            packages=dict.fromkeys(desired.socket_packages(settings)),
        )
    drop_in = desired.socket_drop_in(settings)
    acl = f", and {settings.agent_user} by ACL" if settings.docker_userns_remap else ""
    socket = desired_file(drop_in, f"Docker socket is 0660 root:docker{acl}")
    for user in settings.docker_users:
        if read(UserAccount, user=user) is None:
            raise OperationError(f"docker_users: user {user!r} does not exist on {host.name}")
    members = desired.docker_group(settings)
    group_members_exactly(
        name=f"The docker group has exactly {', '.join(members)}",
        group="docker",
        users=members,
    )
    return [Managed(socket)]

from agenthost.tasks.ops import Managed, managed_file
from pyinfra import host
from pyinfra.api import OperationError, deploy
from pyinfra.facts.server import Users
from pyinfra.operations import apt, server

from agenthost.paths import SOCKET_DROP_IN as DROP_IN
from agenthost.settings import Settings
from agenthost.templating import render


@deploy("Docker socket")
def docker_socket(settings: Settings) -> list[Managed]:
    """Only root and the docker group reach the socket; never a world-writable chmod. Under
    userns-remap, the agent user too, by an ACL entry: remapped agent containers are the agent."""
    server.group(name="Group docker exists", group="docker")
    acl_user = settings.agent_user if settings.docker_userns_remap else None
    if acl_user:
        apt.packages(
            name="setfacl is installed (acl)",
            packages=["acl"],
            update=True,
            cache_time=24 * 3600,
        )
    socket = managed_file(
        name="Docker socket is 0660 root:docker" + (f", and {acl_user} by ACL" if acl_user else ""),
        path=DROP_IN,
        content=render("docker-socket.conf.j2", acl_user=acl_user),
    )
    users = host.get_fact(Users)
    for user in settings.docker_users:
        if user not in users:
            raise OperationError(f"docker_users: user {user!r} does not exist on {host.name}")
    for user in [settings.agent_user, *settings.docker_users]:
        server.user(
            name=f"{user} is in the docker group, other groups kept",
            user=user,
            groups=["docker"],
            append=True,
        )
    return [Managed(socket, DROP_IN)]

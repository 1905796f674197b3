from pyinfra import host
from pyinfra.api import OperationError, deploy
from pyinfra.facts.server import Users
from pyinfra.operations import server

from agenthost.paths import SOCKET_DROP_IN as DROP_IN
from agenthost.settings import Settings
from agenthost.tasks.ops import Managed, managed_file
from agenthost.templating import render


@deploy("Docker socket")
def docker_socket(settings: Settings) -> list[Managed]:
    """Only root and the docker group reach the socket; never a world-writable chmod."""
    server.group(name="Group docker exists", group="docker")
    socket = managed_file(
        name="Docker socket is 0660 root:docker",
        path=DROP_IN,
        content=render("docker-socket.conf.j2"),
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

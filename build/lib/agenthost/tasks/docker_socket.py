from pyinfra import host
from pyinfra.api import OperationError, deploy
from pyinfra.facts.server import Users
from pyinfra.operations import server

from agenthost import desired
from agenthost.settings import Settings
from agenthost.tasks.ops import Managed, desired_file


@deploy("Docker socket")
def docker_socket(settings: Settings) -> list[Managed]:
    """Only root and the docker group reach the socket; never a world-writable chmod."""
    server.group(name="Group docker exists", group="docker")
    drop_in = desired.socket_drop_in()
    socket = desired_file(drop_in, "Docker socket is 0660 root:docker")
    users = host.get_fact(Users)
    for user in settings.docker_users:
        if user not in users:
            raise OperationError(f"docker_users: user {user!r} does not exist on {host.name}")
    for user in desired.docker_group(settings):
        server.user(
            name=f"{user} is in the docker group, other groups kept",
            user=user,
            groups=["docker"],
            append=True,
        )
    return [Managed(socket, drop_in.path)]

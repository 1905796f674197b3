from pyinfra import host
from pyinfra.api import OperationError, StringCommand, deploy, operation
from pyinfra.operations import apt, server

from agenthost import desired
from agenthost.settings import Settings
from agenthost.tasks.facts import UserAccount, account_in_op, planned_fact
from agenthost.tasks.ops import Managed, desired_file


@deploy("Docker socket")
def docker_socket(settings: Settings) -> list[Managed]:
    """Only root and the docker group reach the socket; never a world-writable chmod. Under
    userns-remap, the agent user too, by an ACL entry: remapped agent containers are the agent."""
    server.group(name="Group docker exists", group="docker")
    if settings.docker_userns_remap:
        apt.packages(
            name="setfacl is installed (acl)",
            packages=desired.socket_packages(settings),
            update=True,
            cache_time=24 * 3600,
        )
    drop_in = desired.socket_drop_in(settings)
    acl = f", and {settings.agent_user} by ACL" if settings.docker_userns_remap else ""
    socket = desired_file(drop_in, f"Docker socket is 0660 root:docker{acl}")
    for user in settings.docker_users:
        if planned_fact(UserAccount, user=user) is None:
            raise OperationError(f"docker_users: user {user!r} does not exist on {host.name}")
    for user in desired.docker_group(settings):
        group_member(name=f"{user} is in the docker group, other groups kept", user=user,
                     group="docker")  # fmt: skip
    return [Managed(socket, drop_in.path)]


@operation()
def group_member(user: str, group: str):
    """`user` is in `group`, its other groups kept (what `server.user(groups=[group],
    append=True)` ensures, from one account's fact instead of every user's and group's).

    Read at execution, since the user may be created earlier in the same run.
    """
    account = account_in_op(user, f"it cannot join {group}")
    if account is None:
        yield StringCommand("true", f"# {user} joins {group} once it exists")
        return
    if group in account["groups"] or group == account["group"]:
        host.noop(f"{user} is in {group}")
        return
    yield StringCommand("usermod", "-a", "-G", group, user)

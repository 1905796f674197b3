"""The real Docker socket: 0660 root:docker and no ACL entry, the docker group exactly as set."""

from pyinfra import host
from pyinfra.api import FactBase, OperationError, StringCommand, deploy, operation

from agenthost import desired, engine, explain
from agenthost.operations.accounts import (
    GroupMembers,
    PrimaryGroupUsers,
    UserAccount,
    group_members_exactly,
    group_present,
    members_title,
)
from agenthost.operations.files import desired_file, desired_file_read
from agenthost.operations.plan import Managed
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import Settings

SOCKET = "/run/docker.sock"


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    return [
        desired_file_read(desired.socket_drop_in(settings)),
        *(Read(UserAccount, user=user) for user in settings.docker_users),
        Read(GroupMembers, group="docker"),
        Read(PrimaryGroupUsers, group="docker"),
        Read(SocketAcl),
    ]


@declares(_reads)
@deploy("Docker socket")
def docker_socket(settings: Settings) -> list[Managed]:
    """Only root and the docker group reach the socket; never a world-writable chmod. Agents
    reach Docker through their policy sockets (tasks.docker_policy)."""
    group_present(name="Group docker exists", group="docker")
    drop_in = desired.socket_drop_in(settings)
    socket = desired_file(drop_in, "Docker socket is 0660 root:docker")
    socket_acl_cleared(name="Docker socket has no ACL entry")
    for user in settings.docker_users:
        if read(UserAccount, user=user) is None:
            raise OperationError(f"docker_users: user {user!r} does not exist on {host.name}")
    members = desired.docker_group(settings)
    group_members_exactly(
        name=f"The {members_title('docker group', members)}",
        group="docker",
        users=members,
    )
    return [Managed(socket)]


class SocketAcl(FactBase):
    """The named users and groups in the Docker socket's ACL (none without getfacl)."""

    default = list

    def command(self) -> str:
        return f"getfacl -cp {SOCKET} 2>/dev/null | grep -E '^(user|group):[^:]+:' || true"

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]


@operation()
def socket_acl_cleared():
    """The Docker socket has no ACL entry: its mode and group say who reaches it. (Hosts
    converged before the policy gave the agent one, and systemd does not make the socket anew.)
    """
    entries = read(SocketAcl)
    if not entries:
        host.noop(f"{SOCKET} has no ACL entry")
        return
    # Each entry is root on the host: drift names who had one.
    explain.record(explain.Difference(f"{SOCKET} ACL", "no named entry", ", ".join(entries)))
    yield StringCommand("setfacl", "-b", SOCKET)

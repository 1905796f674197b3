"""The Docker policy stage: agents and their builds reach Docker only through policy sockets
(agenthost.policy, one per agent container and one for the agent account), so a build cannot
leave the remapped user namespace or the host's confinement. Root, the docker group and the
deploy keep the real socket.
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation

from agenthost import desired
from agenthost.docker_policy import CONTEXT, UNIT
from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account
from agenthost.tasks.basics import UnitState, unit_running
from agenthost.tasks.ops import desired_file, managed_file, managed_file_absent
from agenthost.tasks.snapshot import read


@deploy("Docker policy")
def docker_policy(settings: Settings) -> None:
    account = agent_account(settings)
    sockets = desired.policy_sockets(settings)
    files_applied(
        name=f"Agents reach Docker only through the policy ({len(sockets)} socket(s))",
        files=desired.policy_files(settings, account),
        then=["systemctl daemon-reload", f"systemctl try-restart '{UNIT}@*.service'"],
    )
    for socket in sockets:
        users = [] if socket.kind == "account" else [socket.instance.removeprefix("container-")]
        socket_listening(name=f"Policy socket {socket.path} is listening", unit=socket.unit,
                         containers=users)  # fmt: skip
    context = desired.docker_context(settings, account)
    desired_file(context, f"{settings.agent_user}'s docker uses its policy socket (context"
                          f" {CONTEXT})")


@operation()
def files_applied(files: list[desired.File], then: list[str]):
    """`files` hold exactly their content (backed up first, as managed_file does); when any of
    them changed, `then` runs once after all of them: one change, so a no-op plans none.

    Example:
        files_applied(name="Units are current", files=units, then=["systemctl daemon-reload"])
    """
    commands = []
    for file in files:
        if file.content is None:
            commands += managed_file_absent._inner(path=file.path)
        else:
            commands += managed_file._inner(path=file.path, content=file.content, mode=file.mode,
                                            user=file.user, group=file.group,
                                            secret=file.secret)  # fmt: skip
    if not commands:
        host.noop(f"{len(files)} file(s) are up to date")
        return
    yield from commands
    yield from (StringCommand(command) for command in then)


@operation()
def socket_listening(unit: str, containers: list[str]):
    """The policy socket `unit` is enabled and listening. A socket made anew is a new file: the
    agent containers in `containers`, which mount the old one, are restarted to mount it.
    """
    was_active = read(UnitState, unit=unit)["active"]
    yield from unit_running._inner(unit=unit)
    if not was_active:
        for name in map(shlex.quote, containers):
            yield (f"if docker container inspect {name} >/dev/null 2>&1;"
                   f" then docker restart {name} >/dev/null; fi")  # fmt: skip

"""The Docker policy stage: agents and their builds reach Docker only through policy sockets
(agenthost.policy, one per agent container and one for the agent account), so a build cannot
leave the remapped user namespace or the host's confinement. Root, the docker group and the
deploy keep the real socket.
"""

from __future__ import annotations

import shlex

from pyinfra.api import deploy, operation

from agenthost import desired, engine
from agenthost.docker_policy import CONTEXT, UNIT
from agenthost.operations.apt import PackageVersions, package_names, packages_installed
from agenthost.operations.files import desired_file, desired_file_read, files_applied
from agenthost.operations.systemd import UnitState, unit_running
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    files = [*desired.policy_files(settings, account), desired.docker_context(settings, account)]
    names = package_names(desired.policy_packages(settings))
    return [
        *(desired_file_read(file) for file in files),
        *([Read(PackageVersions, names=names)] if names else []),
        *(Read(UnitState, unit=socket.unit) for socket in desired.policy_sockets(settings)),
    ]


@declares(_reads)
@deploy("Docker policy")
def docker_policy(settings: Settings) -> None:
    account = agent_account(settings)
    sockets = desired.policy_sockets(settings)
    packages_installed(
        name="The Docker policy's Python is installed",
        packages=dict.fromkeys(desired.policy_packages(settings)),
        lock_timeout=settings.docker_apt_lock_timeout,
    )
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

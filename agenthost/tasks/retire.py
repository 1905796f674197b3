"""Retiring a host: what agenthost put there is removed, what it replaced is restored from the
first backup (the host's own version), so the host is as it was, with the engine kept."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, QuoteString, StringCommand, deploy, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import FileContents, Sha256File
from pyinfra.operations import server, systemd

from agenthost import audit, desired, docker_ce, engine, subids
from agenthost.docker_policy import UNIT as POLICY_UNIT
from agenthost.operations.accounts import UserAccount, group_members_exactly, members_title
from agenthost.operations.backups import CREATED, backup
from agenthost.operations.files import File, desired_file, managed_file, managed_file_absent
from agenthost.operations.plan import changes, followed
from agenthost.operations.systemd import UnitState
from agenthost.operations.writes import copied
from agenthost.paths import BACKUP_DIR, DAEMON_JSON, PRUNE_UNIT, SUBID_FILES
from agenthost.reads.snapshot import read
from agenthost.settings import Settings
from agenthost.tasks.agent_containers import agent_containers_only
from agenthost.tasks.agent_user import agent_account
from agenthost.tasks.docker_engine import host_system


class FirstBackup(FactBase):
    """The host's own version of `path`: its first backup, or None when it had no such file
    (agenthost created it, or it never replaced it)."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return (
            f"grep -qxF {quoted} {CREATED} 2>/dev/null"
            f" || ls -d {BACKUP_DIR}/*{quoted} 2>/dev/null | sort | head -n 1"
        )

    def process(self, output: list[str]) -> str | None:
        return output[0] if output else None


@operation()
def original_restored(path: str):
    """`path` is as the host had it before agenthost: its first backup's copy, or no file."""
    first = host.get_fact(FirstBackup, path=path)
    if first is None:
        yield from managed_file_absent._inner(path=path)
        return
    current = host.get_fact(Sha256File, path=path)
    if current and current == host.get_fact(Sha256File, path=first):
        host.noop(f"{path} is the host's own ({first})")
        return
    if host.get_fact(File, path=path):
        yield from backup(path)
    yield copied(first, path)


@operation()
def subid_lines_restored(path: str, user: str):
    """`user`'s lines in `path` are those the host had before agenthost (none if it had none)."""
    account = read(UserAccount, user=user)
    if account is None:
        host.noop(f"{path}: no user {user}")
        return
    first = host.get_fact(FirstBackup, path=path)
    original = "\n".join(host.get_fact(FileContents, path=first) or []) if first else ""
    current = "\n".join(host.get_fact(FileContents, path=path) or [])
    own_id = account["uid"] if path.endswith("subuid") else account["gid"]
    yield from managed_file._inner(
        path=path, content=subids.restored_lines(current, original, user, own_id)
    )


@operation()
def docker_restarted(restored: list[OperationMeta], timeout: int):
    """dockerd runs the restored configuration: restarted when one of the operations `restored`
    changed what it reads (in this operation, so a retired host plans no change at all), each
    wait bounded by `timeout` seconds (docker_start_timeout)."""
    if not any(changes(op) for op in restored):
        host.noop("dockerd runs the host's own configuration")
        return
    yield "systemctl daemon-reload"
    yield "systemctl reset-failed docker.service docker.socket 2>/dev/null; true"
    yield (f"timeout {timeout} systemctl restart docker.socket docker.service || {{ echo"
           f" 'agenthost: docker did not start within {timeout} s (docker_start_timeout)' >&2;"
           " exit 1; }")  # fmt: skip
    yield (f"end=$(($(date +%s) + {timeout})); until timeout 10 docker info >/dev/null 2>&1; do"
           " [ $(date +%s) -lt $end ] || exit 1; sleep 1; done")  # fmt: skip


@operation()
def policy_stopped(units: list[str]):
    """The policy sockets `units` and their services are stopped and disabled."""
    states = [read(UnitState, unit=unit) for unit in units]
    if not any(state["active"] or state["enabled"] for state in states):
        host.noop("no policy socket is left")
        return
    yield StringCommand("systemctl", "disable", "--now", *units)
    yield StringCommand("systemctl", "stop", QuoteString(f"{POLICY_UNIT}@*.service"))


def remapped_images_note(settings: Settings) -> str | None:
    """What happens to the images a remapped engine holds once daemon.json is the host's own."""
    if not settings.docker_userns_remap:
        return None
    return (
        "images, containers and volumes made under userns-remap stay in the remapped data root"
        " /var/lib/docker/<uid>.<gid> (ls -d /var/lib/docker/*.*), which the engine does not"
        " read without userns-remap: `docker images` shows only what the host had before"
        f" agenthost. Load or pull what you need again; `userns-remap: {settings.agent_user}`"
        " in daemon.json makes them usable again; `rm -rf` that folder frees the space"
    )


@deploy("Retire the host")
def retire(settings: Settings) -> None:
    user = settings.agent_user
    if note := remapped_images_note(settings):
        host.log(note)
    agent_containers_only(name="No agent container is left", names=[])
    systemd.service(
        name="Clean-up timer is stopped and disabled",
        service=f"{PRUNE_UNIT}.timer",
        running=False,
        enabled=False,
    )
    policy_stopped(
        name="No policy socket is left",
        units=[socket.unit for socket in desired.policy_sockets(settings)],
    )
    removed = {
        file.path: desired_file(desired.File(file.path, None), f"No {file.path}")
        for file in desired.files(settings, agent_account(settings), host_system())
        if file.path != DAEMON_JSON
    }
    followed(name="The kernel forgets agenthost's audit rules",
             changed=[removed[audit.RULES_FILE]], commands=[audit.UNLOAD])  # fmt: skip
    followed(name="systemd forgets agenthost's units", changed=list(removed.values()),
             commands=["systemctl daemon-reload"])  # fmt: skip
    daemon = original_restored(name=f"{DAEMON_JSON} is the host's own again", path=DAEMON_JSON)
    # The engine stays, no longer held at docker_version nor fed by Docker's repository unless
    # the host had them before agenthost.
    for path in (engine.PIN, docker_ce.SOURCES, docker_ce.KEYRING):
        original_restored(name=f"{path} is the host's own again", path=path)
    subid = [
        subid_lines_restored(
            name=f"{path} has {user}'s lines from before agenthost", path=path, user=user
        )  # fmt: skip
        for path in SUBID_FILES
    ]
    # Only what dockerd reads restarts it; systemd reloads the units it owns.
    dockerd_paths = {file.path for file in desired.dockerd_files(settings)}
    dockerds = [op for path, op in removed.items() if path in dockerd_paths]
    docker_restarted(
        name="Docker runs the host's own configuration", restored=[daemon, *subid, *dockerds],
        timeout=settings.docker_start_timeout,
    )
    group_members_exactly(
        name=f"The {members_title('docker group', settings.docker_users)}",
        group="docker",
        users=settings.docker_users,
    )
    if settings.agent_retired_remove_user:
        server.user(name=f"User {user} is deleted", user=user, present=False)

"""No drop-in changes dockerd or its socket but agenthost's own, and no whole unit replaces the
packaged ones, persistent (/etc) or until the next boot (/run): another drop-in or an override
(a TCP listener, another ExecStart) is backed up and removed, and its removal is applied by the
restart."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, deploy, operation

from agenthost import desired, engine
from agenthost.operations.files import File, managed_file_absent
from agenthost.operations.plan import Managed
from agenthost.paths import (
    DROP_IN_DIRS,
    PROXY_DROP_IN,
    RUNTIME_DROP_IN_DIRS,
    SOCKET_DROP_IN,
    UNIT_OVERRIDES,
)
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import Settings

OURS = {PROXY_DROP_IN, SOCKET_DROP_IN}
DIRS = (*DROP_IN_DIRS, *RUNTIME_DROP_IN_DIRS)


class DropInDirs(FactBase):
    """What `DropIns` prints for each of the directories `values`, by one `find`
    (reads.snapshot batches reads with it): {"/etc/systemd/system/docker.service.d": [...]}"""

    default = dict

    def command(self, values: tuple[str, ...]) -> str:
        quoted = shlex.join(values)
        return f"find {quoted} -mindepth 1 -maxdepth 1 -name '*.conf' 2>/dev/null; true"

    def process(self, output: list[str]) -> dict[str, list[str]]:
        printed: dict[str, list[str]] = {}
        for path in output:
            printed.setdefault(path.rsplit("/", 1)[0], []).append(path)
        return printed


class DropIns(FactBase):
    """The drop-ins systemd reads for a unit (`*.conf` in its .d directory), files or links."""

    default = list
    batch = DropInDirs

    def command(self, directory: str) -> str:
        return (
            f"find {shlex.quote(directory)} -mindepth 1 -maxdepth 1 -name '*.conf' 2>/dev/null"
            " || true"
        )

    def process(self, output: list[str]) -> list[str]:
        return sorted(output)


@operation()
def only_our_drop_ins(directory: str, ours: list[str]):
    """`directory` holds no drop-in but `ours`; others are backed up, then removed.

    Args:
        directory: a unit's drop-in directory.
        ours: the drop-ins agenthost manages there.
    """
    extra = [path for path in read(DropIns, directory=directory) if path not in ours]
    if not extra:
        host.noop(f"{directory} holds only agenthost's drop-ins")
        return
    for path in extra:
        host.log(f"removing unexpected drop-in {path} (a backup is kept)")
        yield from managed_file_absent._inner(path=path)


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    return [*(Read(DropIns, directory=directory) for directory in DIRS),
            *(Read(File, path=path) for path in UNIT_OVERRIDES)]


@declares(_reads)
@deploy("Docker drop-ins")
def docker_drop_ins() -> list[Managed]:
    drop_ins = [
        Managed(
            only_our_drop_ins(
                name=f"{directory} holds only agenthost's drop-ins",
                directory=directory,
                ours=sorted(p for p in OURS if p.startswith(directory + "/")),
            )
        )
        for directory in DIRS
    ]
    overrides = [Managed(managed_file_absent(name=f"No whole unit {path} replaces the packaged one",
                                             path=path))
                 for path in UNIT_OVERRIDES]  # fmt: skip
    return [*drop_ins, *overrides]

"""What a run's operations share: a change they follow (`followed`, `changes`), what they
could not check while planning (`pending`, `not_checked`), what dockerd reads (`Managed`),
and commands whose output is shown as it comes."""

from __future__ import annotations

from typing import NamedTuple

from pyinfra import host
from pyinfra.api import OperationError, StringCommand, operation
from pyinfra.api.operation import OperationMeta

_not_checked: dict[str, list[str]] = {}


_observed: dict[str, dict[str, list[str]]] = {}


def not_checked(what: str) -> None:
    """Drift cannot compare `what` on the current host: only the deploy machine has its source."""
    _not_checked.setdefault(host.name, []).append(what)


def not_checked_on(name: str) -> list[str]:
    return _not_checked.get(name, [])


def observe_packages(installed: dict[str, list[str]]) -> None:
    """Keep the package versions an operation read: drift reports the engine's at no cost."""
    _observed.setdefault(host.name, {}).update(installed)


def packages_seen_on(name: str) -> dict[str, list[str]]:
    return _observed.get(name, {})


class Managed(NamedTuple):
    """An operation that may change what dockerd reads (desired.dockerd_files, or its packages),
    for the restart that applies it; if the restart fails, the files are restored from their
    backups and `undo` is run."""

    op: OperationMeta
    undo: str | None = None


def changes(op: OperationMeta) -> bool:
    """Whether `op` changed the host (executed) or will change it (planned): for an operation
    that must follow it, as one operation rather than a conditional `_if` step, which a plan
    lists as a possible change even when nothing changes."""
    return op.did_change() if op.is_complete() else op.will_change


@operation()
def followed(changed: list[OperationMeta], commands: list[str]):
    """`commands` have run if one of the operations `changed` changed the host: a reload that
    follows them, as an operation of its own that reads their result (see `changes`)."""
    if not any(changes(op) for op in changed):
        host.noop("nothing it follows changed")
        return
    yield from (StringCommand(command) for command in commands)


class ShownCommand(StringCommand):
    """A command whose output pyinfra shows as it comes, as with `-v`: a wait that says what it
    waits for, instead of a silent half-minute."""

    def execute(self, state, host, connector_arguments):
        connector_arguments.update(self.connector_arguments)
        return host.run_shell_command(self, print_output=True, print_input=state.print_input,
                                      **connector_arguments)  # fmt: skip


def pending(error: str, waiting: str) -> StringCommand:
    """For an operation whose inputs (an account, an image, a package) are not on the host:
    while pyinfra plans, a command that does nothing and says what it waits for (an earlier
    operation of the run may make them); when it runs, OperationError(`error`)."""
    if host.state.is_executing:
        raise OperationError(error)
    return StringCommand("true", f"# {waiting}")

"""What a host has, read in one round trip.

pyinfra 3 runs one command per fact read, and does not cache: a deploy that changes nothing
still pays one SSH round trip per file, account, unit and package it checks. Here a deploy first
declares what it will read (`expect`); the first `read` of any of it then runs every declared
fact's own command in one shell (the `Snapshot` fact) and answers from that. The snapshot holds
until the stage changes or an operation runs commands on the host: the next read takes it again,
so facts are as fresh as pyinfra's. A read that was not declared, or whose command failed, is a
plain `host.get_fact`, with pyinfra's own errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from pyinfra import host
from pyinfra.api import FactBase, StringCommand

_FAILED = object()  # a section whose command failed: read it the ordinary way


class Read:
    """One fact with its arguments, as a key: `Read(File, path="/etc/hosts")`."""

    __slots__ = ("arguments", "fact", "is_secret", "_key")

    def __init__(self, fact: type[FactBase], **arguments: Any) -> None:
        self.fact, self.arguments, self.is_secret = fact, arguments, False
        self._key = (fact, repr(sorted(arguments.items())))

    @classmethod
    def secret(cls, fact: type[FactBase], **arguments: Any) -> Read:
        """A read whose output holds a secret: pyinfra's `-vvv` does not print it."""
        entry = cls(fact, **arguments)
        entry.is_secret = True
        return entry

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Read) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.fact.__name__}({arguments})"


class Reads(tuple):
    """The reads of one snapshot; shown by count in pyinfra's log."""

    def __str__(self) -> str:
        return f"{len(self)} facts"


class Snapshot(FactBase):
    """Every fact of `reads`, each by its own command and `process`, in one shell command:

        {Read(File, path="/etc/hosts"): {...}, Read(UserAccount, user="jenkins"): None, ...}

    A fact whose command fails (or needs a program the host lacks) is marked failed: `read`
    then reads it by itself, and pyinfra reports it as it reports any fact. Reads of facts that
    name a `batch` fact (one argument each, such as a path) are read together by its one
    command: a `stat` of every file instead of one per file. A batch fact's `process` gives,
    for each argument, the lines the fact's own command prints for it, and that fact's
    `process` reads them; the program a batch needs is the one its facts' `requires_command`
    names.
    """

    default = dict

    def command(self, reads: Reads) -> StringCommand:
        self.mark = f"--agenthost-snapshot-{uuid.uuid4().hex}--"
        self.sections = _sections(reads)
        commands = []
        for index, section in enumerate(self.sections):
            # A newline before the mark ends a last line the command left open.
            mark = f"printf '\\n%s {index} %s\\n' {self.mark} $?;"
            commands.append(StringCommand("(", section.command(), ") </dev/null 2>/dev/null;",
                                          mark))  # fmt: skip
        return StringCommand(*commands)

    def process(self, output: list[str]) -> dict[Read, Any]:
        found: dict[Read, Any] = {}
        lines: list[str] = []
        for line in output:
            if not line.startswith(self.mark):
                lines.append(line)
                continue
            _mark, index, status = line.split()
            if lines and lines[-1] == "":
                lines.pop()  # the newline before the mark
            found.update(self.sections[int(index)].results(lines, status))
            lines = []
        return found


class _Section:
    """One command of the snapshot: one read, or several reads of facts that name the same
    `batch` fact, which reads all their arguments at once."""

    def __init__(self, entry: Read) -> None:
        self.reads = [entry]

    def command(self) -> StringCommand | str:
        # The instance that makes the command reads its output: a fact may keep what it needs.
        first = self.reads[0]
        if len(self.reads) > 1:
            self.fact = first.fact.batch()
            values = dict.fromkeys(_sole_argument(entry) for entry in self.reads)
            arguments = {"values": tuple(values)}
        else:
            self.fact, arguments = first.fact(), first.arguments
        command = _call(self.fact.command, arguments)
        # A batch needs the program its facts need: they name it, for their own reads too.
        needs = _call(first.fact().requires_command, first.arguments)
        if needs:
            command = StringCommand("command -v", needs, ">/dev/null && {", command, "; }")
        return command

    def results(self, lines: list[str], status: str) -> dict[Read, Any]:
        answer = _processed(self.fact, lines, status)
        if len(self.reads) == 1:
            return {self.reads[0]: answer}
        if answer is _FAILED:
            return dict.fromkeys(self.reads, _FAILED)
        return {entry: _processed(entry.fact(), answer.get(_sole_argument(entry), []), status)
                for entry in self.reads}  # fmt: skip


def _sole_argument(entry: Read) -> Any:
    (value,) = entry.arguments.values()
    return value


def _sections(reads: Reads) -> list[_Section]:
    """A section per read, in order, but one per batch fact for the reads it reads."""
    sections: list[_Section] = []
    batches: dict[type[FactBase], _Section] = {}
    for entry in reads:
        batch = getattr(entry.fact, "batch", None) if len(entry.arguments) == 1 else None
        if batch in batches:
            batches[batch].reads.append(entry)
            continue
        sections.append(_Section(entry))
        if batch:
            batches[batch] = sections[-1]
    return sections


def _call(attribute: Any, arguments: dict[str, Any]) -> Any:
    return attribute(**arguments) if callable(attribute) else attribute


def _processed(fact: FactBase, lines: list[str], status: str) -> Any:
    if status != "0":
        return _FAILED
    try:
        return fact.process(lines) if lines else fact.default()
    except Exception:  # noqa: BLE001 - the ordinary read reports it the way pyinfra does
        return _FAILED


class _HostReads:
    def __init__(self) -> None:
        self.expected: dict[Read, None] = {}  # in order, once each
        self.secret: set[Read] = set()
        self.taken: dict[Read, Any] = {}
        self.epoch: tuple | None = None


_by_state: WeakKeyDictionary[Any, dict[str, _HostReads]] = WeakKeyDictionary()


def _host_reads() -> _HostReads:
    return _by_state.setdefault(host.state, {}).setdefault(host.name, _HostReads())


def expect(reads: Iterable[Read]) -> None:
    """The current host will be asked for `reads`: the next snapshot takes them along."""
    known = _host_reads()
    for entry in reads:
        known.expected.setdefault(entry)
        if entry.is_secret:
            known.secret.add(entry)


def forget() -> None:
    """The current host's next read takes a new snapshot (what was read is out of date)."""
    _host_reads().epoch = None


def read(fact: type[FactBase], **arguments: Any) -> Any:
    """`host.get_fact(fact, **arguments)`, from the host's snapshot when the read was expected.

    An operation reads before it yields its first command: once a command ran, the snapshot is
    taken again (by the next operation)."""
    entry, reads = Read(fact, **arguments), _host_reads()
    if entry not in reads.expected:
        return host.get_fact(fact, **arguments)
    epoch = _epoch()
    if reads.epoch != epoch:
        reads.taken, reads.epoch = {}, epoch
    if entry not in reads.taken:
        pending = Reads(r for r in reads.expected if r not in reads.taken)
        reads.taken.update(dict.fromkeys(pending, _FAILED))
        with _unprinted(any(r in reads.secret for r in pending)):
            reads.taken.update(host.get_fact(Snapshot, reads=pending))
    if reads.taken[entry] is not _FAILED:
        return reads.taken[entry]
    with _unprinted(entry in reads.secret):
        return host.get_fact(fact, **arguments)


_hiding: WeakKeyDictionary[Any, list] = WeakKeyDictionary()  # by State: [depth, print setting]


@contextmanager
def _unprinted(secret: bool) -> Iterator[None]:
    """While a secret is read, pyinfra's `-vvv` does not print facts' output (for every host:
    the setting is global; nested and concurrent reads restore it once the last one ends)."""
    if not secret:
        yield
        return
    state = host.state
    hiding = _hiding.setdefault(state, [0, state.print_fact_output])
    if hiding[0] == 0:
        hiding[1] = state.print_fact_output
    hiding[0] += 1
    state.print_fact_output = False
    try:
        yield
    finally:
        hiding[0] -= 1
        if hiding[0] == 0:
            state.print_fact_output = hiding[1]


def _epoch() -> tuple:
    """What the host's state is known by: how many operations ran commands on it, and, when
    pyinfra asks before it executes (no `-y`), the stage: after the question, facts are new."""
    state = host.state
    ran = sum(1 for op in state.ops[host].values() if op.operation_meta.executed)
    return state.current_stage if state.check_for_changes else None, ran

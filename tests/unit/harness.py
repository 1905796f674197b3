"""pyinfra's way of testing an operation: given these facts, these commands (or a no-op).

    result = run_op(managed_file, facts={"File": {"/etc/x": None}}, path="/etc/x", content="a")
    assert result.commands == ["mkdir -p /etc", ...]

Facts are given by class name; a fact read with an argument (`File(path=...)`) is looked up by
that argument's value. A fact the test did not give fails the test: an operation reads only
what it is known to read.

A whole host is planned by pyinfra itself (`plan_agent_host`), its facts given by a
`PlannedHost`: Debian 12, nothing of agenthost's there yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pyinfra.api import Config, FileUploadCommand, Inventory, State, StringCommand
from pyinfra.context import ctx_host, ctx_state

from agenthost import explain
from agenthost.paths import BACKUP_DIR
from agenthost.reads import snapshot
from agenthost.run import set_run_stamp
from agenthost.tasks import agent_host

STAMP = "20261201T120000Z"  # the backup stamp the run lock gives a test's host


def stamped(path: str) -> str:
    """Where a test host's run backs up `path`."""
    return f"{BACKUP_DIR}/{STAMP}{path}"


@dataclass(eq=False)  # hashable, as pyinfra's State
class FakeState:
    is_executing: bool = False
    config: Config = field(default_factory=Config)


@dataclass
class FakeHost:
    facts: dict[str, Any]
    name: str = "agent-01.example.com"
    state: FakeState = field(default_factory=FakeState)
    noops: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    current_op_global_arguments: dict[str, Any] = field(default_factory=dict)
    current_op_hash: str = field(default_factory=lambda: uuid.uuid4().hex)  # one per run_op

    def get_fact(self, fact: type, *args: Any, **kwargs: Any) -> Any:
        name = fact.__name__
        assert name in self.facts, f"the operation read {name}{args or ''}{kwargs or ''}"
        given = self.facts[name]
        keys = [tuple(k) if isinstance(k, list) else k for k in [*args, *kwargs.values()]]
        if not keys:
            return given
        key = keys[0] if len(keys) == 1 else tuple(keys)
        assert key in given, f"the operation read {name}({key!r}), which the test did not give"
        return given[key]

    def noop(self, message: str) -> None:
        self.noops.append(message)

    def log(self, message: str, *_args: Any) -> None:
        self.logs.append(message)

    def get_temp_filename(self, hash_key: str | None = None, hash_filename: bool = True,
                          temp_directory: str | None = None) -> str:  # fmt: skip
        return f"{temp_directory or '/tmp'}/pyinfra-{abs(hash(hash_key)) % 10**8}"


@dataclass
class Result:
    commands: list[str]
    noops: list[str]
    uploads: dict[str, str]  # remote path -> content uploaded there
    host: FakeHost
    yielded: list[Any] = field(default_factory=list)  # the command objects themselves
    differences: list[explain.Difference] = field(default_factory=list)  # what it said differs


def command_text(command: Any) -> str:
    if isinstance(command, StringCommand):
        return command.get_raw_value()
    if isinstance(command, FileUploadCommand):
        return f"upload {command.dest}"
    return str(command)


@contextmanager
def on_host(facts: dict[str, Any] | None = None, executing: bool = False) -> Iterator[FakeHost]:
    """A fake host with `facts` as pyinfra's current host, its run lock taken (STAMP)."""
    host = FakeHost(facts or {}, state=FakeState(is_executing=executing))
    with ctx_state.use(host.state), ctx_host.use(host):
        set_run_stamp(STAMP)
        yield host


def run_op(op: Any, facts: dict[str, Any], executing: bool = False, diff: bool = False,
           global_arguments: dict[str, Any] | None = None, **arguments: Any) -> Result:  # fmt: skip
    """The commands `op` yields on a host with `facts`, as pyinfra would plan (or execute) it,
    with pyinfra's `global_arguments` (`_sudo`, `_temp_dir`, ...) if given."""
    with on_host(facts, executing) as host:
        host.current_op_global_arguments = global_arguments or {}
        host.state.config.DIFF = diff
        commands = list(op._inner(**arguments))
    uploads = {
        c.dest: c.src.getvalue() if hasattr(c.src, "getvalue") else str(c.src)
        for c in commands
        if isinstance(c, FileUploadCommand)
    }
    differences = explain.recorded(host.name, host.current_op_hash)
    return Result([command_text(c) for c in commands], host.noops, uploads, host, commands,
                  differences)


class PlannedHost(NamedTuple):
    """The host planned on: Debian 12 with a kernel audit of its own, its run lock free, every
    account there but, on a fresh host, the agent's; anything else not there (what its fact
    makes of no output)."""

    agent: str
    fresh: bool

    def answer(self, fact: type, arguments: dict) -> object:
        name = fact.__name__
        if name == "OsRelease":
            return {"id": "debian", "version_id": "12", "version_codename": "bookworm"}
        if name == "RunLock":
            return f"held {STAMP}"
        if name == "KernelAudit":
            return "own"
        if name == "UserAccount":
            user = arguments["user"]
            if self.fresh and user == self.agent:
                return None
            return {"uid": 1001, "gid": 1001, "home": f"/home/{user}", "group": user, "groups": []}
        try:
            return fact().process([])
        except Exception:  # noqa: BLE001 - a fact that cannot read nothing has its default
            return fact().default()


def plan_agent_host(data: dict, facts: PlannedHost,
                    read_alone: Callable[[type, dict], None] = lambda *_: None) -> State:
    """`agent_host()` planned by pyinfra for one host with settings `data`, whose facts `facts`
    gives: the snapshot's, and those read outside it, which `read_alone` is told of."""
    inventory = Inventory(([("agent-01.example.com", data)], {}))
    state = State(inventory, Config())
    host = inventory.get_host("agent-01.example.com")

    def get_fact(fact: type, *_args: Any, **arguments: Any) -> Any:
        if fact is snapshot.Snapshot:
            return {read: facts.answer(read.fact, read.arguments) for read in arguments["reads"]}
        read_alone(fact, arguments)
        return facts.answer(fact, arguments)

    host.get_fact = get_fact
    with ctx_state.use(state), ctx_host.use(host):
        agent_host()
    assert state.ops[host], "nothing was planned"
    return state

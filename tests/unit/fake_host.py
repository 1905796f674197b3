"""Run an @operation's generator against facts given by the test: these facts, these commands."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from pyinfra.context import ctx_host


class FakeHost:
    name = "agent-01"

    def __init__(self, facts: Callable[[type, dict], Any], executing: bool = True):
        self._facts = facts
        self.state = SimpleNamespace(is_executing=executing)
        self.current_op_global_arguments = {}
        self.noops: list[str] = []

    def get_fact(self, cls, **kwargs):
        return self._facts(cls, kwargs)

    def noop(self, message: str) -> None:
        self.noops.append(message)

    def get_temp_filename(self, *args, **kwargs) -> str:
        return "/tmp/pyinfra-temp"


def commands(op, facts: Callable[[type, dict], Any], executing: bool = True, **kwargs):
    """(commands as text, noop messages) of `op` called with `kwargs` on a host with `facts`."""
    host = FakeHost(facts, executing)
    with ctx_host.use(host):
        made = [str(getattr(c, "get_raw_value", lambda c=c: c)()) for c in op._inner(**kwargs)]
    return made, host.noops

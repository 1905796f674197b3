"""What each stage reads from a host, declared beside its `@deploy`, so that one snapshot
(reads.snapshot) answers a deploy that changes nothing:

    def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
        return [Read(UnitState, unit="docker.service")]

    @declares(_reads)
    @deploy("Docker engine")
    def docker_engine(settings: Settings) -> None: ...

Each entry is a read an operation of the stage makes, with the same arguments. A read left out
still works, with a round trip of its own per host: tests/unit/test_declared_reads.py plans every
stage for many settings and fails on it; the e2e suite checks that a no-op reads in 2 commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agenthost import desired, engine
from agenthost.reads.snapshot import Read
from agenthost.settings import Settings

StageReads = Callable[[Settings, engine.System, desired.Account], list[Read]]


def declares(reads: StageReads) -> Callable[[Any], Any]:
    """The stage under it reads `reads(settings, system, account)`."""

    def declared(stage: Any) -> Any:
        stage.reads = reads
        return stage

    return declared


def stage_reads(stages: Iterable[Any], settings: Settings, system: engine.System,
                account: desired.Account) -> list[Read]:  # fmt: skip
    """Every read that `stages` declared, in their order."""
    return [entry for stage in stages for entry in stage.reads(settings, system, account)]

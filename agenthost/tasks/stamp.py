"""The stamp a deploy leaves for `agenthost status`: when, by which agenthost, with which
settings (a digest). Not a drift item: drift does not plan it.

Written when the run changed anything else on the host, or when agenthost's version or the
settings differ from the stamp: a re-run that changes nothing stays a run without changes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import FileContents

from agenthost import __version__
from agenthost.operations.writes import atomic_upload
from agenthost.paths import DEPLOY_STAMP
from agenthost.reads.snapshot import Read, read
from agenthost.run import run_stamp
from agenthost.settings import Settings


def settings_digest(settings: Settings) -> str:
    """Short and one-way: the settings may hold credentials."""
    text = json.dumps(settings.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_of(settings: Settings) -> dict[str, str]:
    """This run's record, `when` by the host's clock (the run lock's stamp)."""
    when = datetime.strptime(run_stamp(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return {"when": when.isoformat(), "version": __version__,
            "settings": settings_digest(settings)}  # fmt: skip


def stamp_read() -> Read:
    return Read(FileContents, path=DEPLOY_STAMP)


def parse(lines: list[str] | None) -> dict[str, str]:
    try:
        found = json.loads("\n".join(lines or []) or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _others_changed() -> bool:
    """Whether another operation of this run on this host changed (or, planned, will). A
    conditional one (a restart) only follows another change; planned, it would always say yes."""
    for op_hash, data in host.state.ops[host].items():
        meta = data.operation_meta
        if op_hash == host.current_op_hash or data.global_arguments.get("_if"):
            continue
        if meta.did_change() if meta.is_complete() else meta.will_change:
            return True
    return False


@operation()
def deploy_stamp(record: dict[str, str]):
    """DEPLOY_STAMP holds `record` if this run changed the host or the version or settings
    differ from what it holds; else it keeps the last one."""
    old = parse(read(FileContents, path=DEPLOY_STAMP))
    same = all(old.get(key) == record[key] for key in ("version", "settings"))
    if same and not _others_changed():
        host.noop(f"{DEPLOY_STAMP}: deployed {old.get('when')}, nothing changed since")
        return
    yield from atomic_upload(json.dumps(record, sort_keys=True) + "\n", DEPLOY_STAMP, "644")

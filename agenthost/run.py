"""This run of agenthost: its own id (in the run lock, and in temporary names, so two runs
never write through the same file), and its stamp on each host: the folder of BACKUP_DIR its
backups go in.

Rollback, prune and retire order backups by their stamps, so a stamp comes from the host's own
clock (and after every stamp already there), read with the run lock (reads.run_lock): never
from the controller's clock, which may run behind the host's or behind another controller's.
"""

import uuid
from datetime import UTC, datetime

from pyinfra import host
from pyinfra.api.exceptions import PyinfraError

RUN_ID = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
_stamps: dict[str, str] = {}  # host name -> stamp


def set_run_stamp(stamp: str) -> None:
    """The current host's stamp for this run, as the host gave it."""
    _stamps[host.name] = stamp


def run_stamp() -> str:
    """The current host's stamp for this run (the run lock gives it)."""
    try:
        return _stamps[host.name]
    except KeyError:
        raise PyinfraError(f"{host.name}: no backup stamp: take the run lock first") from None

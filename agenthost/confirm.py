"""No question when there is nothing to confirm.

pyinfra 3.10 asks for Enter before every run without `-y`, even when it detected no change on
any host; without a terminal (cron, CI) the question dies with EOFError and exit 1. agenthost's
operations yield every command of their change when planned (no conditional `_if` steps), so a
plan without a change is a run that changes nothing: `skip_when_unchanged` lets pyinfra's command
line go on then as with `-y`, and leaves the question as it is whenever anything would change.
It rebinds a name in pyinfra's command line, so only deploy.py calls it, as it calls
agenthost.planning, never the stages a deploy of yours composes.
"""

from __future__ import annotations

import sys
from typing import Any

from pyinfra import logger
from pyinfra.context import state as current_state

NOTHING_TO_CONFIRM = "--> No change detected on any host: nothing to confirm"


def planned_changes(state: Any) -> int:
    """Operations that would change a host, over every host still in the run (conditional
    ones included: pyinfra counts them when it plans)."""
    hosts = state.inventory.iter_activated_hosts()
    return sum(state.get_meta_for_host(host).ops_change for host in hosts)


def skip_when_unchanged() -> bool:
    """Wrap pyinfra's question, where its command line runs this deploy; whether it did."""
    cli = sys.modules.get("pyinfra_cli.cli")  # not imported here: the API has no question
    ask = getattr(cli, "_do_confirm", None)
    if ask is None or getattr(ask, "skips_when_unchanged", False):
        return False

    def confirm(message: str, *args: Any, **kwargs: Any) -> bool:
        if planned_changes(current_state) == 0:
            logger.info(NOTHING_TO_CONFIRM)
            return True
        return ask(message, *args, **kwargs)

    confirm.skips_when_unchanged = True  # type: ignore[attr-defined]
    cli._do_confirm = confirm
    return True

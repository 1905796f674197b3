"""One agenthost run at a time per host.

The lock is taken while the run is planned, before any fact the operations read, by a fact (so
it changes nothing that a re-run or a dry run would report): a directory made atomically by
`mkdir`, holding the run's id and the pid of the SSH connection serving this run. The lock is
free once that connection is gone (the run ended, crashed or lost its link), so nothing has to
release it; a host reached without sshd falls back to an age bound. A second run waits for it a
bounded time, saying every PROGRESS_SECONDS which run holds it, since when and how long it will
still wait, then stops with the holder's id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import PyinfraError

from agenthost.paths import RUN_LOCK
from agenthost.reads.snapshot import Read, forget, read
from agenthost.run import RUN_ID

LOCK = RUN_LOCK
WAIT_SECONDS = 600
PROGRESS_SECONDS = 15  # one line this often while another run holds the lock
STALE_MINUTES = 120  # only where no SSH connection marks the holder as alive

# The nearest sshd ancestor of this shell is the connection's own process (sshd-session on
# OpenSSH 9.8+); it lives exactly as long as the run's connection. (Read with `read`: a shell
# builtin, where `cat` and `cut` would cost two processes per ancestor.)
_TAKE = r"""
lock={lock}; me={run_id}
conn=0; p=$$
while [ "$p" -gt 1 ] && read -r comm 2>/dev/null </proc/$p/comm \
        && read -r _ _ _ ppid _ 2>/dev/null </proc/$p/stat; do
    case "$comm" in sshd|sshd-session) conn=$p; break ;; esac
    p=$ppid
done
alive() {{
    set -- $(cat "$lock/owner" 2>/dev/null)
    [ "${{1:-}}" = "$me" ] && return 1
    if [ "${{2:-0}}" != 0 ]; then
        case "$(cat /proc/$2/comm 2>/dev/null)" in sshd|sshd-session) return 0 ;; esac
        return 1
    fi
    [ -n "$(find "$lock" -maxdepth 0 -mmin -{stale} 2>/dev/null)" ]
}}
i=0
while :; do
    if mkdir "$lock" 2>/dev/null; then echo "$me $conn" >"$lock/owner"; echo held; exit 0; fi
    if [ "$(cut -d' ' -f1 "$lock/owner" 2>/dev/null)" = "$me" ]; then echo held; exit 0; fi
    if ! alive; then
        mv "$lock" "$lock.stale.$$" 2>/dev/null && rm -rf "$lock.stale.$$"; continue
    fi
    # busy RUN CONNECTION AGE: the lock's age by the host's own clock
    [ $i -ge {wait} ] && {{ echo "busy $(cat "$lock/owner" 2>/dev/null)" \
        $(( $(date +%s) - $(stat -c %Y "$lock" 2>/dev/null || date +%s) )); exit 0; }}
    i=$((i+2)); sleep 2
done
"""


class RunLock(FactBase):
    """Takes the run lock for `run_id`, waiting up to `wait` seconds: `held`, or
    `busy <run> <connection> <seconds held>`."""

    def command(self, run_id: str, wait: int = 0) -> str:
        return _TAKE.format(lock=LOCK, run_id=run_id, wait=wait, stale=STALE_MINUTES)

    def process(self, output: list[str]) -> str:
        return output[-1] if output else "busy"


class Holder(NamedTuple):
    """The run that holds the lock, and for how long it has (None when not said)."""

    run: str
    held_seconds: int | None

    @classmethod
    def of(cls, answer: str) -> Holder:
        fields = answer.removeprefix("busy").split()
        age = fields[2] if len(fields) > 2 and fields[2].isdigit() else None
        return cls(fields[0] if fields else "another run", None if age is None else int(age))


def waiting_line(holder: Holder, waited: float, now: datetime) -> str:
    """What the operator reads while this run waits: who, since when, how much longer."""
    since = ""
    if holder.held_seconds is not None:
        started = now - timedelta(seconds=holder.held_seconds)
        since = f" since {started:%H:%M:%S} UTC ({holder.held_seconds} s)"
    left = max(0, round(WAIT_SECONDS - waited))
    return (f"agenthost run {holder.run} holds {LOCK}{since}: waiting for it, {left} s more at"
            f" most (of {WAIT_SECONDS} s), then this run stops without changing the host")


def run_lock_read() -> Read:
    """The lock, as the first read of the host's first snapshot: held before anything else is
    read, in the same round trip."""
    return Read(RunLock, run_id=RUN_ID)


def wait_for_lock(answer: str, take: Callable[[int], str], say: Callable[[str], None],
                  clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
    """Takes the lock again (`take(seconds)`) until it is held, saying who holds it before each
    try; PyinfraError naming the holder once WAIT_SECONDS have passed."""
    start = clock()
    while answer != "held":
        holder, waited = Holder.of(answer), clock() - start
        if waited >= WAIT_SECONDS:
            raise PyinfraError(
                f"{host.name}: agenthost run {holder.run} has held {LOCK} for over"
                f" {WAIT_SECONDS} s; no host was changed by this run"
            )
        say(waiting_line(holder, waited, datetime.now(UTC)))
        answer = take(round(min(PROGRESS_SECONDS, WAIT_SECONDS - waited)))


def hold_run_lock() -> None:
    """This run holds the host's lock, or the run stops naming the run that holds it. A dry run
    takes it too: it then never reads a host that a deploy is half-way through."""
    answer = read(RunLock, run_id=RUN_ID)
    if answer == "held":
        return
    wait_for_lock(answer, lambda wait: host.get_fact(RunLock, run_id=RUN_ID, wait=wait),
                  host.log)  # fmt: skip
    forget()  # what the snapshot read while another run held the lock is read again

"""One agenthost run at a time per host.

The lock is taken while the run is planned, before any fact the operations read, by a fact (so
it changes nothing that a re-run or a dry run would report): a directory made atomically by
`mkdir`, holding the run's id and the pid of the SSH connection serving this run. The lock is
free once that connection is gone (the run ended, crashed or lost its link), so nothing has to
release it; a host reached without sshd falls back to an age bound. While the Docker apply unit
of a run whose connection dropped still runs (it outlives the connection, and may be rolling
back), the lock is not free either. A second run waits for it a bounded time
(agent_run_lock_timeout), saying every
PROGRESS_SECONDS which run holds it, since when and how long it will still wait, then stops with
the holder's id.

Taken, the lock also gives this run's backup stamp on the host, by the host's clock and after
every stamp there (agenthost.run.run_stamp): never the controller's clock, which may run behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import PyinfraError

from agenthost.paths import APPLIED_RECORD, APPLY_UNIT, BACKUP_DIR, RUN_LOCK
from agenthost.reads.snapshot import Read, forget, read
from agenthost.run import RUN_ID, set_run_stamp

LOCK = RUN_LOCK
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
applying() {{
    case "$(systemctl is-active {unit}.service 2>/dev/null)" in
        active|activating|deactivating|reloading) return 0 ;;
    esac
    return 1
}}
# This run's backup stamp: the host's clock, or one second after the newest stamp there.
held() {{
    now=$(date -u +%Y%m%dT%H%M%SZ)
    last=$({{ ls -1 {backups}; cut -d' ' -f2 {record}; }} 2>/dev/null \
        | grep -E '^[0-9]{{8}}T[0-9]{{6}}Z$' | sort | tail -n 1)
    if [ -n "$last" ] && ! expr "$now" \> "$last" >/dev/null; then
        last=$(echo "$last" | sed -E 's/(....)(..)(..)T(..)(..)(..)Z/\1-\2-\3 \4:\5:\6/')
        now=$(date -u -d "@$(($(date -u -d "$last" +%s) + 1))" +%Y%m%dT%H%M%SZ)
    fi
    echo "held $now"; exit 0
}}
i=0
while :; do
    if ! applying; then
        if mkdir "$lock" 2>/dev/null; then echo "$me $conn" >"$lock/owner"; held; fi
        if [ "$(cut -d' ' -f1 "$lock/owner" 2>/dev/null)" = "$me" ]; then held; fi
        if ! alive; then
            mv "$lock" "$lock.stale.$$" 2>/dev/null && rm -rf "$lock.stale.$$"; continue
        fi
    fi
    # busy|applying RUN CONNECTION AGE: the lock's age by the host's own clock
    [ $i -ge {wait} ] && {{ applying && state=applying || state=busy
        echo "$state $(cat "$lock/owner" 2>/dev/null || echo 'a-dropped-run 0')" \
        $(( $(date +%s) - $(stat -c %Y "$lock" 2>/dev/null || date +%s) )); exit 0; }}
    i=$((i+2)); sleep 2
done
"""


def take_script(run_id: str, wait: int = 0, lock: str = LOCK, backups: str = BACKUP_DIR,
                record: str = APPLIED_RECORD, stale: int = STALE_MINUTES) -> str:  # fmt: skip
    """Shell that takes the lock for `run_id` (see RunLock)."""
    return _TAKE.format(lock=lock, run_id=run_id, wait=wait, stale=stale, unit=APPLY_UNIT,
                        backups=backups, record=record)  # fmt: skip


class RunLock(FactBase):
    """Takes the run lock for `run_id`, waiting up to `wait` seconds: `held <backup stamp>`,
    or `busy|applying <run> <connection> <seconds held>` (`applying`: that run's Docker apply
    unit still runs)."""

    def command(self, run_id: str, wait: int = 0) -> str:
        return take_script(run_id, wait)

    def process(self, output: list[str]) -> str:
        return output[-1] if output else "busy"


class Holder(NamedTuple):
    """The run that holds the lock, for how long it has (None when not said), and whether it
    is that run's Docker apply unit, still running after its connection dropped."""

    run: str
    held_seconds: int | None
    applying: bool = False

    @classmethod
    def of(cls, answer: str) -> Holder:
        state, *fields = answer.split() or ["busy"]
        age = fields[2] if len(fields) > 2 and fields[2].isdigit() else None
        return cls(fields[0] if fields else "another run", None if age is None else int(age),
                   state == "applying")  # fmt: skip

    def __str__(self) -> str:
        if self.applying:
            return f"the Docker apply ({APPLY_UNIT}) of agenthost run {self.run}"
        return f"agenthost run {self.run}"


def waiting_line(holder: Holder, waited: float, now: datetime, limit: int) -> str:
    """What the operator reads while this run waits (`limit` s at most): who, since when, how
    much longer."""
    since = ""
    if holder.held_seconds is not None:
        started = now - timedelta(seconds=holder.held_seconds)
        since = f" since {started:%H:%M:%S} UTC ({holder.held_seconds} s)"
    holds = "still runs, holding" if holder.applying else "holds"
    left = max(0, round(limit - waited))
    return (f"{holder} {holds} {LOCK}{since}: waiting for it, {left} s more at"
            f" most (of {limit} s), then this run stops without changing the host")


def run_lock_read() -> Read:
    """The lock, as the first read of the host's first snapshot: held before anything else is
    read, in the same round trip."""
    return Read(RunLock, run_id=RUN_ID)


def wait_for_lock(answer: str, take: Callable[[int], str], say: Callable[[str], None],
                  limit: int, clock: Callable[[], float] = time.monotonic) -> str:  # fmt: skip
    """Takes the lock again (`take(seconds)`) until it is held, saying who holds it before each
    try; PyinfraError naming the holder once `limit` seconds have passed. Returns the answer
    that took it (`held <stamp>`)."""
    start = clock()
    while not answer.startswith("held"):
        holder, waited = Holder.of(answer), clock() - start
        if waited >= limit:
            raise PyinfraError(
                f"{host.name}: {holder} has held {LOCK} for over"
                f" {limit} s (agent_run_lock_timeout); no host was changed by this run"
            )
        say(waiting_line(holder, waited, datetime.now(UTC), limit))
        answer = take(round(min(PROGRESS_SECONDS, limit - waited)))
    return answer


def hold_run_lock(limit: int) -> None:
    """This run holds the host's lock, waiting `limit` seconds at most (agent_run_lock_timeout),
    or the run stops naming the run that holds it. A dry run takes it too: it then never reads
    a host that a deploy is half-way through. The answer gives this run's backup stamp."""
    answer = read(RunLock, run_id=RUN_ID)
    if not answer.startswith("held"):
        answer = wait_for_lock(
            answer, lambda wait: host.get_fact(RunLock, run_id=RUN_ID, wait=wait), host.log, limit
        )
        forget()  # what the snapshot read while another run held the lock is read again
    set_run_stamp(answer.split()[1])

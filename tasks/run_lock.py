"""One agenthost run at a time per host.

The lock is taken while the run is planned, before any fact the operations read, by a fact (so
it changes nothing that a re-run or a dry run would report): a directory made atomically by
`mkdir`, holding the run's id and the pid of the SSH connection serving this run. The lock is
free once that connection is gone (the run ended, crashed or lost its link), so nothing has to
release it; a host reached without sshd falls back to an age bound. A second run waits for it a
bounded time, then stops with the holder's id.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import PyinfraError

from agenthost.tasks.ops import RUN_ID
from agenthost.tasks.snapshot import Read, read

LOCK = "/run/agenthost.lock"
WAIT_SECONDS = 600
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
    i=$((i+2)); [ $i -gt {wait} ] && {{ echo "busy $(cat "$lock/owner" 2>/dev/null)"; exit 0; }}
    sleep 2
done
"""


class RunLock(FactBase):
    """Takes the run lock for `run_id` (waiting up to WAIT_SECONDS): `held`, or `busy <id>`."""

    def command(self, run_id: str) -> str:
        return _TAKE.format(lock=LOCK, run_id=run_id, wait=WAIT_SECONDS, stale=STALE_MINUTES)

    def process(self, output: list[str]) -> str:
        return output[-1] if output else "busy"


def run_lock_read() -> Read:
    """The lock, as the first read of the host's first snapshot: held before anything else is
    read, in the same round trip."""
    return Read(RunLock, run_id=RUN_ID)


def hold_run_lock() -> None:
    """This run holds the host's lock, or the run stops naming the run that holds it. A dry run
    takes it too: it then never reads a host that a deploy is half-way through."""
    answer = read(RunLock, run_id=RUN_ID)
    if answer != "held":
        holder = answer.removeprefix("busy").strip().split(" ")[0] or "another run"
        raise PyinfraError(
            f"{host.name}: agenthost run {holder} has held {LOCK} for over {WAIT_SECONDS} s;"
            " no host was changed by this run"
        )

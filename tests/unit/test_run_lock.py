"""The run lock, run by a real shell on a temporary lock directory."""

import os
import subprocess
import time
from datetime import UTC, datetime

import pytest
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_host

from agenthost.reads import run_lock
from agenthost.reads.run_lock import RunLock
from tests.unit.harness import FakeHost


def take(lock, run_id, wait=4):
    command = run_lock._TAKE.format(lock=lock, run_id=run_id, wait=wait, stale=120)
    return RunLock().process(subprocess.run(["sh", "-c", command], capture_output=True,
                                            text=True, timeout=30).stdout.splitlines())  # fmt: skip


def test_a_free_lock_is_taken_and_taken_again_by_the_same_run(tmp_path):
    lock = tmp_path / "agenthost.lock"
    assert take(lock, "run-1") == "held"
    assert (lock / "owner").read_text().split()[0] == "run-1"
    assert take(lock, "run-1") == "held"


def test_a_held_lock_makes_a_second_run_wait_then_give_up(tmp_path):
    lock = tmp_path / "agenthost.lock"
    lock.mkdir()
    # A holder reached without sshd (pid 0) is alive until the age bound.
    (lock / "owner").write_text("run-1 0\n")
    assert take(lock, "run-2").startswith("busy run-1 0 ")


def test_a_lock_whose_connection_is_gone_is_taken_over(tmp_path):
    lock = tmp_path / "agenthost.lock"
    lock.mkdir()
    (lock / "owner").write_text("run-1 999999\n")  # no such process
    assert take(lock, "run-2") == "held"
    assert (lock / "owner").read_text().split()[0] == "run-2"


def test_the_owner_is_the_nearest_sshd_ancestor(tmp_path):
    """The connection's process is found through the shell's ancestors (a shell named sshd
    stands in for it here)."""
    sshd = tmp_path / "sshd"
    sshd.symlink_to("/bin/sh")
    lock = tmp_path / "agenthost.lock"
    command = run_lock._TAKE.format(lock=lock, run_id="run-1", wait=4, stale=120)
    script = tmp_path / "take.sh"
    script.write_text(command)
    # sshd (a shell) -> sh -> the take script, whose walk passes sh and stops at sshd.
    taken = subprocess.run([str(sshd), "-c", f"sh {script}; echo pid $$"], capture_output=True,
                           text=True, timeout=30).stdout.split()  # fmt: skip
    assert taken[0] == "held"
    assert (lock / "owner").read_text().split() == ["run-1", taken[-1]]


def test_a_busy_lock_says_how_long_it_has_been_held_by_the_hosts_clock(tmp_path):
    lock = tmp_path / "agenthost.lock"
    lock.mkdir()
    (lock / "owner").write_text("run-1 0\n")
    os.utime(lock, (time.time() - 90, time.time() - 90))
    holder = run_lock.Holder.of(take(lock, "run-2", wait=0))
    assert holder.run == "run-1" and 89 <= holder.held_seconds <= 92


def test_a_waiting_run_says_who_holds_the_lock_since_when_and_how_long_it_still_waits():
    now = datetime(2026, 12, 6, 22, 0, 0, tzinfo=UTC)
    line = run_lock.waiting_line(run_lock.Holder("20261206T215800Z-ab", 120), 30.0, now)
    assert line == (
        "agenthost run 20261206T215800Z-ab holds /run/agenthost.lock since 21:58:00 UTC (120 s):"
        " waiting for it, 570 s more at most (of 600 s), then this run stops without changing"
        " the host"
    )


def test_the_wait_says_so_before_each_try_and_stops_naming_the_holder(monkeypatch):
    clock, said, tries = [0.0], [], []

    def take(seconds):
        tries.append(seconds)
        clock[0] += seconds
        return "busy run-1 4242 99"

    with ctx_host.use(FakeHost({})), pytest.raises(PyinfraError, match="run run-1 has held"):
        run_lock.wait_for_lock("busy run-1 4242 90", take, said.append, lambda: clock[0])
    assert len(said) == len(tries) == 40 and set(tries) == {15}
    assert said[0].startswith("agenthost run run-1 holds") and "600 s more" in said[0]


def test_the_wait_ends_once_the_lock_is_held():
    said = []
    run_lock.wait_for_lock("busy run-1 4242 5", lambda seconds: "held", said.append)
    assert len(said) == 1

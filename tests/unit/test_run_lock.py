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
from tests.unit.harness import FakeHost, on_host


def take(lock, run_id, wait=4, env=None):
    backups = lock.parent / "backups"
    command = run_lock.take_script(run_id, wait, str(lock), str(backups), str(lock) + ".rec")
    return RunLock().process(subprocess.run(["sh", "-c", command], capture_output=True, env=env,
                                            text=True, timeout=30).stdout.splitlines())  # fmt: skip


def held(answer):
    return answer.split()[0] == "held"


def test_a_free_lock_is_taken_and_taken_again_by_the_same_run(tmp_path):
    lock = tmp_path / "agenthost.lock"
    assert held(take(lock, "run-1"))
    assert (lock / "owner").read_text().split()[0] == "run-1"
    assert held(take(lock, "run-1"))


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
    assert held(take(lock, "run-2"))
    assert (lock / "owner").read_text().split()[0] == "run-2"


def test_the_owner_is_the_nearest_sshd_ancestor(tmp_path):
    """The connection's process is found through the shell's ancestors (a shell named sshd
    stands in for it here)."""
    sshd = tmp_path / "sshd"
    sshd.symlink_to("/bin/sh")
    lock = tmp_path / "agenthost.lock"
    command = run_lock.take_script("run-1", 4, str(lock), str(tmp_path / "b"), str(tmp_path / "r"))
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
    line = run_lock.waiting_line(run_lock.Holder("20261206T215800Z-ab", 120), 30.0, now, 600)
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
        run_lock.wait_for_lock("busy run-1 4242 90", take, said.append, 600, lambda: clock[0])
    assert len(said) == len(tries) == 40 and set(tries) == {15}
    assert said[0].startswith("agenthost run run-1 holds") and "600 s more" in said[0]


def test_the_wait_ends_once_the_lock_is_held():
    said = []
    answer = run_lock.wait_for_lock("busy run-1 4242 5", lambda s: "held 20261201T000000Z",
                                    said.append, 600)  # fmt: skip
    assert len(said) == 1 and answer == "held 20261201T000000Z"


def test_the_stamp_is_the_hosts_clock_and_after_every_stamp_already_there(tmp_path):
    """Backups are ordered by their stamps: a host whose newest stamp is ahead of its clock
    (set back since, or stamped by a controller running ahead) still gets a later one."""
    lock = tmp_path / "agenthost.lock"
    now = datetime.now(UTC)
    stamp = take(lock, "run-1").split()[1]
    assert abs(datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) - now).seconds < 5
    (tmp_path / "backups" / "20991231T235959Z").mkdir(parents=True)
    assert take(lock, "run-1").split()[1] == "21000101T000000Z"
    (tmp_path / "agenthost.lock.rec").write_text("abc 21000101T000000Z\n")
    assert take(lock, "run-1").split()[1] == "21000101T000001Z"


def test_a_docker_apply_left_running_by_a_dropped_run_is_waited_for(tmp_path):
    """Its lock is free (its connection is gone) but its apply unit may be rolling back."""
    lock = tmp_path / "agenthost.lock"
    lock.mkdir()
    (lock / "owner").write_text("run-1 999999\n")  # the dropped run's connection is gone
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho activating\n")
    (bin_dir / "systemctl").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    answer = take(lock, "run-2", wait=0, env=env)
    assert answer.startswith("applying run-1 999999 ")
    holder = run_lock.Holder.of(answer)
    assert holder.applying and str(holder).startswith("the Docker apply (agenthost-docker-apply)")
    line = run_lock.waiting_line(holder, 0, datetime.now(UTC), 90)
    assert "of agenthost run run-1 still runs, holding /run/agenthost.lock" in line
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho inactive; exit 3\n")
    assert held(take(lock, "run-2", env=env))


def test_backups_take_the_stamp_the_host_gave_with_the_lock_not_the_controllers_clock():
    """A controller whose clock runs an hour behind the host still stamps this run's backups
    after the host's earlier ones: the stamp is the host's."""
    from agenthost.operations.backups import backup_path
    from agenthost.run import RUN_ID

    facts = {"RunLock": {RUN_ID: "held 20261207T020000Z"}}
    with on_host(facts):
        run_lock.hold_run_lock(600)
        assert backup_path("/etc/docker/daemon.json") == (
            "/var/backups/agenthost/20261207T020000Z/etc/docker/daemon.json")

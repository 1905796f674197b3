"""The run lock, run by a real shell on a temporary lock directory."""

import subprocess

from agenthost.tasks import run_lock
from agenthost.tasks.run_lock import RunLock


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
    assert take(lock, "run-2") == "busy run-1 0"


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

"""apt at boot, with a real shell: another apt holding its locks (waited for a bounded time,
the holder named), an interrupted dpkg (repaired), and the temporary policy-rc.d (gone when the
shell is signalled, and a leftover removed by the next run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from agenthost.operations.apt import (
    HOLD_DOCKER,
    POLICY,
    POLICY_LINES,
    apt_ready,
    no_temporary_policy,
)
from tests.unit.harness import run_op

# Holds an fcntl lock (as apt and dpkg take theirs) on argv[1] for argv[2] seconds.
HOLDER = "import fcntl, sys, time; f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX);" \
         " print('locked', flush=True); time.sleep(float(sys.argv[2]))"


def held(lock: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), str(seconds)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline() == "locked\n"
    return holder


def ready(tmp_path: Path, timeout: int, env: dict | None = None) -> subprocess.CompletedProcess:
    shell = apt_ready(timeout, (str(tmp_path / "lock-frontend"), str(tmp_path / "lists-lock")),
                      str(tmp_path / "updates"))  # fmt: skip
    return subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=60,
                          env=env)  # fmt: skip


def test_a_held_lock_is_waited_for_and_its_holder_named(tmp_path):
    (tmp_path / "updates").mkdir()
    holder = held(tmp_path / "lists-lock", 3)
    start = time.monotonic()
    done = ready(tmp_path, 30)
    assert done.returncode == 0 and time.monotonic() - start >= 2
    assert f"waiting for apt: {tmp_path}/lists-lock is held by process {holder.pid}" in done.stdout
    assert "python" in done.stdout
    holder.wait()


def test_a_lock_held_past_the_bound_fails_naming_the_setting_and_the_holder(tmp_path):
    holder = held(tmp_path / "lock-frontend", 30)
    try:
        done = ready(tmp_path, 2)
    finally:
        holder.kill()
    assert done.returncode == 1
    assert "after 2 s (docker_apt_lock_timeout)" in done.stderr
    assert f"lock-frontend is held by process {holder.pid}" in done.stderr


def test_dpkgs_padding_file_alone_is_no_interruption(tmp_path):
    (tmp_path / "updates").mkdir()
    (tmp_path / "updates" / "tmp.i").write_text("")
    done = ready(tmp_path, 5)
    assert done.returncode == 0 and "interrupted" not in done.stdout


def test_an_interrupted_dpkg_is_configured_again(tmp_path):
    (tmp_path / "updates").mkdir()
    (tmp_path / "updates" / "0001").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg").write_text(f"#!/bin/sh\necho \"$*\" > {tmp_path}/dpkg-called\n")
    (bin_dir / "dpkg").chmod(0o755)
    done = ready(tmp_path, 5, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "dpkg was interrupted" in done.stdout
    assert (tmp_path / "dpkg-called").read_text().strip().endswith("--configure -a")


def test_the_temporary_policy_goes_when_the_connection_drops(tmp_path):
    """dash runs no EXIT trap on a signal: HUP (and PIPE, TERM, INT) are trapped too."""
    policy = tmp_path / "policy-rc.d"
    hold = HOLD_DOCKER.replace(POLICY, str(policy))
    shell = subprocess.Popen(["dash", "-c", f"{hold}; sleep 30 & wait"])
    deadline = time.monotonic() + 10
    while not os.access(policy, os.X_OK):  # written, then made executable, then trapped
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    assert policy.read_text().splitlines() == POLICY_LINES
    shell.send_signal(1)  # SIGHUP
    shell.wait(timeout=10)
    assert not policy.exists()


def test_a_leftover_temporary_policy_is_removed_and_no_other():
    def run(lines):
        return run_op(no_temporary_policy, {"FileContents": {POLICY: lines}})

    assert run(POLICY_LINES).commands == [f"rm -f {POLICY}"]
    earlier = [POLICY_LINES[0], POLICY_LINES[2]]  # agenthost's before it carried a comment
    assert run(earlier).commands == [f"rm -f {POLICY}"]
    assert run(None).noops and not run(None).commands
    assert not run(["#!/bin/sh", "exit 101"]).commands  # a person's own: kept

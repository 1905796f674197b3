"""How long a deploy takes: first run on fresh rehearsal hosts, then re-runs that change nothing.

    .venv/bin/python benchmarks/deploy.py --hosts 2 --reruns 3

Measured, never asserted: the numbers depend on the machine and on Debian's mirror.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from agenthost.lab import engine, rehearsal

REPO = Path(__file__).resolve().parents[1]
SET = "bench"


def timed_deploy() -> float:
    started = time.monotonic()
    pyinfra = str(Path(sys.executable).with_name("pyinfra"))
    subprocess.run(
        [pyinfra, "-y", "inventory/rehearsal.py", "deploy.py"],
        cwd=REPO, env={**os.environ, "AGENTHOST_REHEARSAL_SET": SET},
        check=True, capture_output=True,
    )  # fmt: skip
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args()
    engine.ensure_engine()
    started = time.monotonic()
    rehearsal.up(SET, rehearsal.spread(args.hosts, ["bookworm", "trixie"]))
    try:
        result = {"hosts": args.hosts, "up_s": round(time.monotonic() - started, 1)}
        result["first_run_s"] = round(timed_deploy(), 1)
        reruns = [timed_deploy() for _ in range(args.reruns)]
        result["rerun_median_s"] = round(statistics.median(reruns), 1)
        print(json.dumps(result, sort_keys=True))
    finally:
        rehearsal.down(SET)


if __name__ == "__main__":
    main()

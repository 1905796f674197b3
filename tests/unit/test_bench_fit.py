"""The controller benchmark's arithmetic (benchmarks/fit.py): the fitted line, the shard count
and the goals, on made-up measurements."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fit import fit, median_row, shards, summarise  # noqa: E402


def test_fit_recovers_a_straight_line():
    line = fit([(1, 1.05), (5, 1.25), (10, 1.5), (40, 3.0)])
    assert line.slope == pytest.approx(0.05)
    assert line.intercept == pytest.approx(1.0)
    assert line.r2 == pytest.approx(1.0)
    assert line.at(1000) == pytest.approx(51.0)


def test_shards_run_a_node_s_cores_at_once_then_wait_their_turn():
    line = fit([(0, 1.0), (100, 101.0)])  # 1 s fixed, 1 s per host
    # 1,000 hosts in 600 s: 2 shards of 500 (501 s each) at once on 4 cores.
    assert shards(line, 1000, 600, 4)["shards"] == 2
    # On one core they take turns: 1,000 s of hosts plus 1 s per shard never fits.
    assert shards(line, 1000, 600, 1) is None
    taken = shards(line, 1000, 600, 1000)
    assert taken["turns"] == 1 and taken["finishes_s"] <= 600


def _row(hosts: int, floor_ms: float, noop_ms: float) -> dict:
    runs = {"floor": [{"cpu_s": 0.7 + hosts * floor_ms / 1000, "maxrss_mib": 60 + hosts}],
            "noop": [{"cpu_s": 0.8 + hosts * noop_ms / 1000, "maxrss_mib": 80 + 2 * hosts}]}
    return median_row(hosts, runs)


def test_goals_compare_the_cost_per_host_with_the_floor_s():
    rows = [_row(n, 10, 14) for n in (1, 5, 10, 20, 40)]
    summary = summarise(rows, ("floor", "noop"), 1000, 600, 4)
    assert summary["noop"]["cpu_s_per_host_ms"] == pytest.approx(14)
    assert summary["noop"]["maxrss_mib_per_host"] == pytest.approx(2)
    assert summary["goals"] == {"noop": {"at_most": 1.5, "ratio": 1.4, "met": True}}
    rows = [_row(n, 10, 16) for n in (1, 5, 10, 20, 40)]
    assert not summarise(rows, ("floor", "noop"), 1000, 600, 4)["goals"]["noop"]["met"]

"""`--shard K/N`: a stable share of an inventory's hosts, so that N controllers (N parallel
Jenkins branches) check a fleet together and each host is checked exactly once.

Rendezvous hashing on the host name: a host belongs to the shard whose number, hashed with its
name, scores highest. The same host always lands in the same shard whatever else the inventory
holds, so adding or removing a host moves no other; changing N moves only about 1/N of them.
"""

from __future__ import annotations

import hashlib
import re

SHARD = re.compile(r"^(\d+)/(\d+)$")


class ShardError(ValueError):
    """A --shard that names no share of the fleet; said as a usage error."""


def parse(text: str) -> tuple[int, int]:
    """(K, N) of `K/N`, 1 <= K <= N."""
    match = SHARD.match(text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ShardError(f"--shard {text}: not K/N with 1 <= K <= N (e.g. 2/3)")
    return int(match[1]), int(match[2])


def shard_of(name: str, count: int) -> int:
    """The shard (1 to `count`) that host `name` belongs to."""
    def score(shard: int) -> bytes:
        return hashlib.sha256(f"{shard}/{name}".encode()).digest()

    return max(range(1, count + 1), key=score)


def select(names: list[str], shard: tuple[int, int]) -> list[str]:
    """The names of `names` in shard K of N, in their order."""
    number, count = shard
    return [name for name in names if shard_of(name, count) == number]

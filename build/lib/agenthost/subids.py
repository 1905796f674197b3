"""The agent user's lines in /etc/subuid and /etc/subgid.

Docker takes the remap user's ranges in file order and maps them onto container ids from 0
upwards. Our first range is the agent's own id, one long, so container root is the agent on
the host: what a build container writes through a bind mount, the agent can delete. The
second range gives the container its other ids.
"""

from __future__ import annotations

from typing import NamedTuple

# login.defs defaults: useradd hands out ranges from here, and so do we.
SUB_ID_MIN = 100_000
SUB_ID_MAX = 600_100_000


class SubIdError(ValueError):
    """No free range, or a file we cannot read safely."""


class Range(NamedTuple):
    owner: str
    start: int
    count: int

    @property
    def end(self) -> int:
        return self.start + self.count

    def overlaps(self, start: int, count: int) -> bool:
        return self.start < start + count and start < self.end


def parse(text: str) -> list[Range]:
    ranges = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            owner, start, count = line.strip().split(":")
            ranges.append(Range(owner, int(start), int(count)))
        except ValueError:
            raise SubIdError(f"line {number} is not owner:start:count: {line!r}") from None
    return ranges


def allocate(others: list[Range], count: int, keep: Range | None = None) -> int:
    """Start of a `count`-long range that overlaps none of `others`.

    `keep`, the agent's current second range, stays when it still fits, so re-runs are stable.
    """
    if keep and keep.count == count and keep.start >= SUB_ID_MIN:
        if not any(r.overlaps(keep.start, count) for r in others):
            return keep.start
    start = SUB_ID_MIN
    for taken in sorted(others, key=lambda r: r.start):
        if taken.overlaps(start, count):
            start = max(start, taken.end)
    if start + count > SUB_ID_MAX:
        raise SubIdError(f"no free range of {count} ids below {SUB_ID_MAX}")
    return start


def agent_lines(text: str, user: str, own_id: int, count: int) -> str:
    """The file with the agent's lines replaced by ours; every other line stays as it was."""
    ours = [r for r in parse(text) if r.owner in (user, str(own_id))]
    others = [r for r in parse(text) if r.owner not in (user, str(own_id))]
    keep = next((r for r in ours if r.count > 1), None)
    start = allocate(others, count, keep)
    kept = [line for line in text.splitlines(keepends=True) if not _is_owned_by(line, user, own_id)]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    return "".join(kept) + f"{user}:{own_id}:1\n{user}:{start}:{count}\n"


def _is_owned_by(line: str, user: str, own_id: int) -> bool:
    return line.split(":", 1)[0].strip() in (user, str(own_id))

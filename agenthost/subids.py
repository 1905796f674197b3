"""The agent user's lines in /etc/subuid and /etc/subgid.

Docker takes the remap user's ranges in file order and maps them onto container ids from 0
upwards (not sorted), and names its data root after the first range's start. One host id can be
mapped once, so the agent is one container id, as docker_userns_agent says:

- `root`: the agent's own id first, one long, so container root is the agent on the host: what
  a build container's root writes through a bind mount, the agent can delete. The second range
  gives the container its other ids.
- `uid`: the second range is split around the agent's own id, so container id <uid> is the agent
  on the host (what the Docker Pipeline plugin's `-u uid:gid` needs) and container root is the
  range's first, unprivileged id.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

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


Mode = Literal["root", "uid"]


def agent_lines(text: str, user: str, own_id: int, count: int, mode: Mode = "root") -> str:
    """The file with the agent's lines replaced by ours; every other line stays as it was."""
    if mode == "uid" and own_id >= count:
        raise SubIdError(
            f"{user}'s id {own_id} is not below docker_subid_count ({count}), so it cannot be"
            " mapped to itself inside containers (docker_userns_agent: uid)"
        )
    ours = [r for r in parse(text) if r.owner in (user, str(own_id))]
    others = [r for r in parse(text) if r.owner not in (user, str(own_id))]
    start = allocate(others, count, _second_range(ours, own_id))
    kept = [line for line in text.splitlines(keepends=True) if not _is_owned_by(line, user, own_id)]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    if mode == "root":
        lines = [(own_id, 1), (start, count)]
    else:
        lines = [(start, own_id), (own_id, 1), (start + own_id, count - own_id)]
    return "".join(kept) + "".join(f"{user}:{first}:{n}\n" for first, n in lines)


def _second_range(ours: list[Range], own_id: int) -> Range | None:
    """The agent's range of other ids, whole again when uid mode split it around its own id."""
    parts = sorted((r for r in ours if r.start != own_id), key=lambda r: r.start)
    if not parts or any(a.end != b.start for a, b in zip(parts, parts[1:], strict=False)):
        return None
    return Range(parts[0].owner, parts[0].start, sum(r.count for r in parts))


def _is_owned_by(line: str, user: str, own_id: int) -> bool:
    return line.split(":", 1)[0].strip() in (user, str(own_id))


def restored_lines(text: str, original: str, user: str, own_id: int) -> str:
    """The file with the agent's lines as `original` (the file before agenthost) had them."""
    kept = [line for line in text.splitlines(keepends=True) if not _is_owned_by(line, user, own_id)]
    before = [
        line for line in original.splitlines(keepends=True) if _is_owned_by(line, user, own_id)
    ]
    lines = [line if line.endswith("\n") else f"{line}\n" for line in [*kept, *before]]
    return "".join(lines)

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
    """The file with the agent's lines as `mode` wants them; every other line stays as it was.

    This is the one rule for the subid files: the deploy writes it, so drift (the deploy,
    planned) and the host suite (`in_place`) read it too. Lines already right stay where they
    are, since Docker reads only the agent's lines, in their order: a range that useradd
    appends for a new user afterwards changes nothing. Otherwise the agent's lines are replaced
    by one block where its first line was (last when it had none); no other line moves.
    """
    if mode == "uid" and own_id >= count:
        raise SubIdError(
            f"{user}'s id {own_id} is not below docker_subid_count ({count}), so it cannot be"
            " mapped to itself inside containers (docker_userns_agent: uid)"
        )
    ranges = parse(text)
    ours = [r for r in ranges if r.owner in (user, str(own_id))]
    others = [r for r in ranges if r.owner not in (user, str(own_id))]
    # The agent's own id is mapped once already (an account from a directory may have one
    # above SUB_ID_MIN): never again in its second range.
    own = Range(user, own_id, 1)
    start = allocate([*others, own], count, _second_range(ours, own_id))
    wanted = [f"{user}:{first}:{n}\n" for first, n in _wanted(mode, own_id, start, count)]
    lines = text.splitlines(keepends=True)
    mine = [i for i, line in enumerate(lines) if _is_owned_by(line, user, own_id)]
    # Byte for byte (the final newline aside): a line shadow's tools read otherwise is rewritten.
    if [lines[i].rstrip("\n") + "\n" for i in mine] == wanted:
        return text
    kept = [line if line.endswith("\n") else f"{line}\n"
            for i, line in enumerate(lines) if i not in mine]  # fmt: skip
    at = mine[0] if mine else len(kept)  # no line of the agent's comes before its first
    return "".join([*kept[:at], *wanted, *kept[at:]])


def in_place(text: str, user: str, own_id: int, count: int, mode: Mode = "root") -> bool:
    """Whether the file already has the agent's lines as `agent_lines` wants them."""
    return agent_lines(text, user, own_id, count, mode) == text


def _wanted(mode: Mode, own_id: int, start: int, count: int) -> list[tuple[int, int]]:
    """(first id, how many) of the agent's lines, in the order Docker must read them."""
    if mode == "root":
        return [(own_id, 1), (start, count)]
    return [(start, own_id), (own_id, 1), (start + own_id, count - own_id)]


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

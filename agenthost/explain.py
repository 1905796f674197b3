"""What a drifted operation found against what it wants: the expected and actual values that
`agenthost drift` reports (table, JSON, JUnit) and `pyinfra --diff` prints.

Operations say what differs while they plan (`record`), from the facts they have already read,
so a clean host costs no extra command. A file's content is known by checksum only: its diff is
read after the host's plan, every drifted file in one command (`read_command`), the drifted
host's one extra read. A secret's content is never read: it only "differs". Pure, but `record`.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import asdict, dataclass, replace

from agenthost import live_daemon
from agenthost.paths import DAEMON_JSON
from agenthost.settings import redact

DIFF_LINES = 60  # of a file's diff; the rest is counted, not shown (a JUnit message stays short)
SECRET_EXPECTED, SECRET_ACTUAL = "content as configured (secret, not shown)", "content differs"
ABSENT = "absent"
LIVE = "live dockerd"  # the section of the one extra read that holds live_daemon.PROBE's output
_recorded: dict[tuple[str, str], dict[str, Difference]] = {}


@dataclass(frozen=True)
class Difference:
    """One thing an operation would change: `what` it is, as wanted and as found. `path` and
    `content` (what the deploy would write) ask for a diff of the host's file, read later."""

    what: str
    expected: str
    actual: str
    diff: str = ""
    path: str | None = None
    content: str | None = None
    probe: bool = False  # the live daemon's options, read with the file diffs (live_daemon)

    def public(self) -> dict[str, str]:
        """What a report shows: never the content the deploy would write."""
        shown = ("what", "expected", "actual", "diff")
        return {key: value for key, value in asdict(self).items() if key in shown}

    def said(self) -> str:
        return f"{self.what}: {self.actual}, wants {self.expected}"


def record(difference: Difference) -> None:
    """Note what the operation being planned on the current host would change."""
    from pyinfra import host, logger

    if host.state.is_executing:  # a deploy runs its operations again: said once, when planned
        return
    key = (host.name, host.current_op_hash or "")
    _recorded.setdefault(key, {})[difference.what] = difference
    # --diff prints file contents itself (operations.files); the other kinds are said here.
    if host.state.config.DIFF and difference.path is None:
        host.log(difference.said(), logger.info)


def recorded(host_name: str, op_hash: str) -> list[Difference]:
    return list(_recorded.get((host_name, op_hash), {}).values())


def mode_owner(mode: str | int, user: str, group: str) -> str:
    """`0644 root:root`: a mode as `stat` or pyinfra give it (644, "0644", 420 is not one)."""
    return f"{int(str(mode), 8):04o} {user}:{group}"


def file_differences(path: str, content: str, mode: str, user: str, group: str,
                     current: dict | None, same: bool,
                     secret: bool) -> list[Difference]:  # fmt: skip
    """What differs between a managed file and `current` (ManagedFileState, None: no file)."""
    wanted = mode_owner(mode, user, group)
    if not current:
        return [Difference(path, f"present, {wanted}", ABSENT)]
    found = mode_owner(str(current["mode"]), current["user"], current["group"])
    out = [] if found == wanted else [Difference(f"{path} mode and owner", wanted, found)]
    if not same and secret:
        out.append(Difference(f"{path} content", SECRET_EXPECTED, SECRET_ACTUAL))
    elif not same:
        out.append(Difference(f"{path} content", "as the deploy writes it", "differs (diff below)",
                              path=path, content=content))  # fmt: skip
    return out


def members(group: str, wanted: list[str], found: list[str]) -> Difference:
    """A group's members: those it has that the settings do not name, and those missing."""
    extra = [name for name in found if name not in wanted]
    missing = [name for name in wanted if name not in found]
    return Difference(
        f"{group} group members",
        f"exactly {_names(wanted)}",
        f"{_names(found)} (extra: {_names(extra)}; missing: {_names(missing)})",
    )


def lines(path: str, wanted: str, found: str, user: str) -> Difference:
    """A shared file's lines of `user` (subuid/subgid): the lines missing and those in the way."""
    want, have = wanted.splitlines(), found.splitlines()
    missing = [line for line in want if line not in have]
    in_the_way = [line for line in have if line not in want]
    return Difference(f"{path} lines", f"{user}'s lines {_names(want)}",
                      f"missing: {_names(missing)}; in the way: {_names(in_the_way)}")  # fmt: skip


def unit(name: str, active: bool, enabled: bool) -> Difference:
    state = f"{'active' if active else 'inactive'}, {'enabled' if enabled else 'not enabled'}"
    return Difference(name, "active, enabled", state)


def package(name: str, wanted: str | None, installed: list[str]) -> Difference:
    """A package installed (at which versions) against wanted: a version glob, any, or absent."""
    expected = "any version" if wanted is None else wanted
    return Difference(f"package {name}", expected, _names(installed) if installed else ABSENT)


def container(name: str, wanted: dict[str, list[str]], current: dict | None, same_spec: bool,
              live_limits_differ: bool) -> list[Difference]:  # fmt: skip
    """Which parts of an agent container's spec differ (agent_container.parts), from the parts
    recorded on it when it was run, and its live limits; never an environment value."""
    if current is None:
        return [Difference(f"container {name}", "running the configured spec", ABSENT)]
    found, out = current.get("parts"), []
    if not same_spec and found is None:
        out.append(Difference(f"container {name} spec", "as configured",
                              "differs (run by an agenthost that did not record its parts)"))
    for part in sorted({*wanted, *(found or {})} if not same_spec and found else ()):
        if wanted.get(part, []) != found.get(part, []):
            secret = part == "env file content"
            out.append(Difference(f"container {name} {part}",
                                  SECRET_EXPECTED if secret else _names(wanted.get(part, [])),
                                  SECRET_ACTUAL if secret else _names(found.get(part, []))))
    if live_limits_differ:  # `docker update` changes them without changing the spec
        live = f"--memory {current['memory']} (bytes), --cpus {current['nano_cpus'] / 1e9:g} (live)"
        out.append(Difference(f"container {name} limits", _names(wanted.get("limits", [])), live))
    return out


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def content_diff(path: str, current: str | None, wanted: str) -> str:
    """A unified diff of the host's `path` against what the deploy writes, credentials masked
    on both sides alike; at most DIFF_LINES lines."""
    before = redact(current or "").splitlines(keepends=True)
    after = redact(wanted).splitlines(keepends=True)
    diff = [line if line.endswith("\n") else line + "\n" for line in difflib.unified_diff(
        before, after, f"{path} (host)", f"{path} (deploy)")]  # fmt: skip
    if len(diff) > DIFF_LINES:
        diff = diff[:DIFF_LINES] + [f"... {len(diff) - DIFF_LINES} more lines\n"]
    return "".join(diff)


def pending_reads(differences: list[Difference]) -> dict[str, str]:
    """What the diffs and the live daemon's options need read: section name -> shell."""
    paths = sorted({d.path for d in differences if d.path})
    if any(d.probe for d in differences):
        paths = sorted({*paths, DAEMON_JSON})
    sections = {path: f"cat {shlex.quote(path)} 2>/dev/null" for path in paths}
    if any(d.probe for d in differences):
        sections[LIVE] = live_daemon.PROBE
    return sections


def read_command(sections: dict[str, str], mark: str) -> str:
    """Shell printing each section's output after a line `mark name`, in one round trip."""
    return "; ".join(f"echo {shlex.quote(f'{mark} {name}')}; {command}"
                     for name, command in sections.items())  # fmt: skip


def split_contents(output: str, mark: str) -> dict[str, str]:
    """`read_command`'s output, by path."""
    contents: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if line.startswith(f"{mark} "):
            current = contents.setdefault(line[len(mark) + 1:], [])
        elif current is not None:
            current.append(line + "\n")
    return {path: "".join(text) for path, text in contents.items()}


def with_diffs(differences: list[Difference], contents: dict[str, str]) -> list[Difference]:
    """`differences` with each pending diff, and the live daemon's options, from what the
    host's sections printed."""
    out = []
    for d in differences:
        if d.path:
            d = replace(d, diff=content_diff(d.path, contents.get(d.path), d.content or ""),
                        path=None, content=None)  # fmt: skip
        elif d.probe:
            said = live_daemon.explained(contents.get(LIVE, ""), contents.get(DAEMON_JSON, ""))
            d = replace(d, actual=redact(said), probe=False)
        out.append(d)
    return out

"""The drift report: a table per host, JSON, JUnit XML, and the exit code. Pure functions.

Items hold no secrets: they name operations, whose names are redacted; what differs
(agenthost.explain) shows a secret file only as "content differs", other files' diffs with
credentials masked; errors are redacted before they get here.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from agenthost.explain import Difference

EXIT_CLEAN, EXIT_UNCHECKED, EXIT_DRIFTED = 0, 1, 2
EXIT_USAGE = 64  # sysexits' EX_USAGE: a mistyped command line is never taken for drift
NO_CHANGE, WOULD_CHANGE, NOT_CHECKED = "no change", "would change", "not checked"


@dataclass(frozen=True)
class Item:
    """One checked thing on one host: it drifted when expected and actual differ."""

    name: str
    expected: str
    actual: str
    differences: tuple[Difference, ...] = ()

    @property
    def diff(self) -> str:
        return "".join(d.diff for d in self.differences)

    @property
    def ok(self) -> bool:
        # What drift cannot know here (a secret or tarball only the deploy machine has) is said,
        # not counted as drift.
        return self.expected == self.actual or self.actual == NOT_CHECKED


def item(name: str, changes: bool, differences: list[Difference]) -> Item:
    """An operation's item: what it would change, each side joined, else would/no change."""
    if not changes:
        return Item(name, NO_CHANGE, NO_CHANGE)
    if not differences:  # an operation that does not say what differs
        return Item(name, NO_CHANGE, WOULD_CHANGE)
    one = len(differences) == 1
    expected = "; ".join(d.expected if one else f"{d.what}: {d.expected}" for d in differences)
    actual = "; ".join(d.actual if one else f"{d.what}: {d.actual}" for d in differences)
    if expected == actual:  # never seen, but a drifted item must not read as clean
        actual = WOULD_CHANGE
    return Item(name, expected, actual, tuple(differences))


def said(item: Item) -> str:
    """One line: each difference as `what: actual, wants expected`."""
    if not item.differences:
        return f"expected {item.expected}, actual {item.actual}"
    return "; ".join(d.said() for d in item.differences)


@dataclass(frozen=True)
class HostReport:
    name: str
    items: tuple[Item, ...] = ()
    error: str | None = None  # why the host could not be checked
    engine: tuple[str, str] | None = None  # (source, version) of the engine dpkg has

    @property
    def drifted(self) -> list[Item]:
        return [item for item in self.items if not item.ok]

    @property
    def status(self) -> str:
        return "unchecked" if self.error else "drifted" if self.drifted else "clean"


def exit_code(reports: list[HostReport]) -> int:
    """1 when a host could not be checked (its state is unknown), else 2 on drift, else 0."""
    if any(report.error for report in reports):
        return EXIT_UNCHECKED
    return EXIT_DRIFTED if any(report.drifted for report in reports) else EXIT_CLEAN


def table(reports: list[HostReport]) -> str:
    """Each host's status; its items that say what differs, each difference on a line of its
    own (`what: actual, wants expected`, then a file's diff); then a table of the other drifted
    items and of what was not checked."""
    out = []
    for report in reports:
        drifted = report.drifted
        shown = [item for item in report.items if not item.ok or item.actual == NOT_CHECKED]
        if report.error:
            out.append(f"{report.name}: NOT CHECKED: {report.error}")
        elif drifted:
            out.append(f"{report.name}: DRIFTED, {len(drifted)} of {len(report.items)} items")
        else:
            out.append(f"{report.name}: no drift ({len(report.items)} items checked)")
        for item in (item for item in shown if item.differences):
            out.append(f"  {item.name}")
            for difference in item.differences:
                out.append(f"      {difference.said()}")
                out += [f"        {line}" for line in difference.diff.splitlines()]
        rows = [(item.name, item.expected, item.actual) for item in shown if not item.differences]
        if rows:
            rows.insert(0, ("item", "expected", "actual"))
            widths = [max(len(row[i]) for row in rows) for i in range(2)]
            for name, expected, actual in rows:
                out.append(f"  {name:<{widths[0]}}  {expected:<{widths[1]}}  {actual}")
    return "\n".join(out) + "\n"


def to_json(reports: list[HostReport]) -> str:
    hosts = [
        {
            "name": report.name,
            "status": report.status,
            "error": report.error,
            "engine": dict(zip(("source", "version"), report.engine, strict=True))
            if report.engine else None,
            "items": [
                {"name": i.name, "expected": i.expected, "actual": i.actual, "ok": i.ok,
                 "differences": [d.public() for d in i.differences]}  # fmt: skip
                for i in report.items
            ],
        }
        for report in reports
    ]
    return (
        json.dumps({"exit_code": exit_code(reports), "hosts": hosts}, indent=2, sort_keys=True)
        + "\n"
    )


def junit(reports: list[HostReport]) -> str:
    """One testsuite per host, one testcase per item; a failure says what differs.

    A host that could not be checked has a testcase `checked` with an error, besides the items
    that could be.
    """
    root = ET.Element("testsuites", name="agenthost drift")
    for report in reports:
        errors = int(bool(report.error))
        suite = ET.SubElement(
            root, "testsuite", name=report.name, tests=str(len(report.items) + errors),
            failures=str(len(report.drifted)), errors=str(errors),
        )  # fmt: skip
        # Jenkins splits a classname at its last dot: keep the host name in one piece.
        classname = "agenthost." + report.name.replace(".", "_")
        if report.error:
            case = ET.SubElement(suite, "testcase", classname=classname, name="checked")
            ET.SubElement(case, "error", message=report.error).text = report.error
        for item in report.items:
            case = ET.SubElement(suite, "testcase", classname=classname, name=item.name)
            if not item.ok:
                failure = ET.SubElement(case, "failure", message=said(item))
                failure.text = f"expected: {item.expected}\nactual:   {item.actual}\n{item.diff}"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

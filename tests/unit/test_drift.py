"""The drift command's pure parts: the plan, the report in its three forms, exit codes, units."""

import json
import xml.etree.ElementTree as ET

import pytest

from agenthost import cli, drift, report
from agenthost.checks import Item
from agenthost.remote import RemoteError
from agenthost.report import HostReport

A, B = "agent-01.example.com", "agent-02.example.com"


def op(name, changed=(), conditional=()):
    return {
        "name": name,
        "hosts_with_change": list(changed),
        "hosts_with_conditional_change": list(conditional),
        "args": [],
        "op_hash": "x",
    }


def test_plan_counts_real_changes_only_and_tells_which_hosts_were_planned():
    plan = [
        op("Docker proxy | drop-in", changed=[B]),
        op("Docker restart | one restart", conditional=[A, B]),
        op("Docker socket | jenkins in docker", changed=[B]),
        op(drift.PLANNED, changed=[A, B]),
    ]
    planned, changes = drift.plan_changes(plan)
    assert planned == {A, B}
    assert changes == {B: ["Docker proxy | drop-in", "Docker socket | jenkins in docker"]}


def test_a_host_missing_from_the_planned_operation_was_not_planned():
    planned, changes = drift.plan_changes([op("x", changed=[A]), op(drift.PLANNED, changed=[A])])
    assert planned == {A} and B not in changes


def test_plan_items_name_each_change_or_pass_once():
    assert drift.plan_items([]) == [Item("pyinfra dry run", "no change", "no change")]
    items = drift.plan_items(["Docker proxy | drop-in"])
    assert items == [Item("pyinfra: Docker proxy | drop-in", "no change", "would change")]
    assert not items[0].ok


def test_operation_names_are_redacted():
    _, changes = drift.plan_changes([op("proxy http://u:pw@proxy:3128", changed=[A])])
    assert changes[A] == ["proxy http://u:***@proxy:3128"]


def test_pyinfra_said_prefers_lines_about_the_host():
    stderr = (
        f"--> Connecting to hosts...\n    [{A}] Connected\n"
        f"    [{B}]   Could not connect (refused)\n--> Disconnecting from hosts...\n"
    )
    assert drift.pyinfra_said(stderr, B) == "Could not connect (refused)"
    assert drift.pyinfra_said("--> pyinfra error: No hosts remaining!\n", A) == (
        "--> pyinfra error: No hosts remaining!"
    )
    assert drift.pyinfra_said("", A) == "no output"


CLEAN = HostReport(A, (Item("user jenkins", "present", "present"),))
DRIFTED = HostReport(
    B,
    (
        Item("group docker: jenkins", "member", "not a member"),
        Item("dockerd: live-restore", "true", "true"),
    ),
)
UNCHECKED = HostReport("agent-03", error="ssh failed: Connection refused")


@pytest.mark.parametrize(
    ("reports", "code"),
    [
        ([CLEAN], 0),
        ([CLEAN, DRIFTED], 2),
        ([CLEAN, UNCHECKED], 1),
        ([DRIFTED, UNCHECKED], 1),  # a host of unknown state weighs more than a known drift
        ([], 0),
    ],
)
def test_exit_codes(reports, code):
    assert report.exit_code(reports) == code


def test_status():
    assert (CLEAN.status, DRIFTED.status, UNCHECKED.status) == ("clean", "drifted", "unchecked")


def test_table_shows_drifted_items_with_expected_and_actual():
    text = report.table([CLEAN, DRIFTED, UNCHECKED])
    assert f"{A}: no drift (1 items checked)\n" in text
    assert f"{B}: DRIFTED, 1 of 2 items\n" in text
    assert "agent-03: NOT CHECKED: ssh failed: Connection refused\n" in text
    rows = text.splitlines()
    header = rows.index(f"{B}: DRIFTED, 1 of 2 items") + 1
    assert rows[header].split() == ["item", "expected", "actual"]
    row = rows[header + 1]
    assert row.strip().startswith("group docker: jenkins") and row.endswith("not a member")
    # Columns line up.
    assert rows[header].index("expected") == row.index("member")
    assert rows[header].index("actual") == row.index("not a member")
    assert "live-restore" not in text, "items that did not drift are not listed"


def test_json_report():
    data = json.loads(report.to_json([DRIFTED, UNCHECKED]))
    assert data["exit_code"] == 1
    drifted, unchecked = data["hosts"]
    assert drifted["status"] == "drifted" and drifted["error"] is None
    assert drifted["items"][0] == {
        "name": "group docker: jenkins",
        "expected": "member",
        "actual": "not a member",
        "ok": False,
    }
    assert unchecked == {
        "name": "agent-03",
        "status": "unchecked",
        "error": "ssh failed: Connection refused",
        "items": [],
    }
    text = report.to_json([CLEAN])
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_junit_has_a_testcase_per_host_and_item_and_failures_say_what_differs():
    root = ET.fromstring(report.junit([CLEAN, DRIFTED, UNCHECKED]).split("\n", 1)[1])
    suites = {suite.get("name"): suite for suite in root}
    assert list(suites) == [A, B, "agent-03"]
    assert suites[B].get("tests") == "2" and suites[B].get("failures") == "1"
    cases = {case.get("name"): case for case in suites[B]}
    failure = cases["group docker: jenkins"].find("failure")
    assert failure.get("message") == "expected member, actual not a member"
    assert cases["dockerd: live-restore"].find("failure") is None
    # Jenkins would split a dotted classname into package and class.
    assert cases["dockerd: live-restore"].get("classname") == "agenthost.agent-02_example_com"
    error = suites["agent-03"].find("testcase/error")
    assert error.get("message") == "ssh failed: Connection refused"
    assert suites["agent-03"].get("errors") == "1"


def test_units_run_the_check_with_reports_in_the_state_directory(tmp_path):
    units = drift.units("inventory/100%.py", "daily", "ci", repo=tmp_path)
    service, timer = units["agenthost-drift.service"], units["agenthost-drift.timer"]
    assert "User=ci\n" in service and f"WorkingDirectory={tmp_path}\n" in service
    assert "StateDirectory=agenthost-drift\n" in service
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert " -m agenthost drift " in exec_start
    assert "100%%.py" in exec_start, "systemd would expand a single %"
    assert "--junit /var/lib/agenthost-drift/drift.xml" in exec_start
    assert "OnCalendar=daily\n" in timer and "WantedBy=timers.target" in timer


def test_write_units_writes_both_files_and_checks_nothing(tmp_path, capsys):
    code = cli.main(
        [
            "drift",
            "inventory/production.py",
            "--write-units",
            str(tmp_path),
            "--schedule",
            "Sun 02:00",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agenthost-drift.service",
        "agenthost-drift.timer",
    ]
    assert "OnCalendar=Sun 02:00" in (tmp_path / "agenthost-drift.timer").read_text()


def test_an_inventory_that_cannot_be_loaded_exits_1(tmp_path, capsys):
    code = cli.main(["drift", str(tmp_path / "missing.py")])
    assert code == 1
    assert "no hosts" in capsys.readouterr().err


def test_failure_of_the_live_checks_is_one_redacted_line():
    assert drift.failure(RemoteError(f"{A}: ssh failed: refused"), A) == "ssh failed: refused"
    error = ConnectionError("proxy http://u:pw@p:3128\n  refused")
    assert drift.failure(error, A) == "ConnectionError: proxy http://u:***@p:3128 refused"
    assert drift.failure(TimeoutError(), A) == "TimeoutError"

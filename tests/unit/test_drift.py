"""The drift command's pure parts: the plan, the report in its three forms, exit codes, units."""

import json
import xml.etree.ElementTree as ET

import pytest
from pyinfra.api.operation import OperationMeta

from agenthost import cli, drift, report
from agenthost.report import HostReport, Item

A, B = "agent-01.example.com", "agent-02.example.com"


def test_a_host_record_gives_an_item_per_operation_and_each_thing_not_checked():
    record = {
        "host": A,
        "operations": [["Docker proxy | drop-in", True], ["Docker socket | 0660", False]],
        "not_checked": ["file /etc/agenthost/agent.env: content"],
    }
    found = drift.host_report(record)
    assert found.items == (
        Item("Docker proxy | drop-in", "no change", "would change"),
        Item("Docker socket | 0660", "no change", "no change"),
        Item("file /etc/agenthost/agent.env: content", "as configured", "not checked"),
    )
    assert found.drifted == [found.items[0]] and found.status == "drifted"


class FakeData:
    def __init__(self, changes, conditional=False):
        self.operation_meta = OperationMeta("hash", changes)  # pyinfra's, planned
        self.global_arguments = {"_if": [lambda: True] if conditional else []}


class FakeOpMeta:
    def __init__(self, *names):
        self.names = set(names)


class FakeHost:
    def __init__(self, name):
        self.name = name


class FakeState:
    def __init__(self, host, ops):
        self.ops = {host: {h: data for h, (data, _) in ops.items()}}
        self.op_meta = {h: meta for h, (_, meta) in ops.items()}


def test_planned_operations_leave_out_conditional_ones_and_redact_names():
    host = FakeHost(A)
    state = FakeState(host, {
        "a": (FakeData(True), FakeOpMeta("proxy http://u:pw@proxy:3128")),
        "b": (FakeData(True, conditional=True), FakeOpMeta("Docker restart")),
        "c": (FakeData(False), FakeOpMeta("Docker socket")),
    })  # fmt: skip
    assert drift.planned_operations(state, host) == [
        ("proxy http://***@proxy:3128", True, []),
        ("Docker socket", False, []),
    ]


def test_planned_operations_take_the_context_proxies_the_drift_plan_passes():
    import pyinfra
    from pyinfra.context import ctx_host, ctx_state

    state = FakeState(A, {"c": (FakeData(False), FakeOpMeta("Docker socket"))})
    with ctx_state.use(state), ctx_host.use(A):  # as pyinfra runs the plan for host A
        planned = drift.planned_operations(pyinfra.state, pyinfra.host)
    assert planned == [("Docker socket", False, [])]


def test_the_plan_command_passes_limits_as_pyinfra_does():
    command = drift.plan_command("inv.py", ["web", "db"])
    assert command[1:] == [
        "--dry",
        "--limit",
        "web",
        "--limit",
        "db",
        "inv.py",
        str(drift.PLAN),
    ]
    assert drift.PLAN.is_file()


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
        "differences": [],
    }
    assert unchecked == {
        "name": "agent-03",
        "status": "unchecked",
        "error": "ssh failed: Connection refused",
        "engine": None,
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
    units = drift.units("inventory/100%.py", "daily", "ci", tmp_path)
    service, timer = units["agenthost-drift.service"], units["agenthost-drift.timer"]
    assert "User=ci\n" in service and f"WorkingDirectory={tmp_path}\n" in service
    assert "StateDirectory=agenthost-drift\n" in service
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    assert " -m agenthost drift " in exec_start
    assert "100%%.py" in exec_start, "systemd would expand a single %"
    assert "--junit /var/lib/agenthost-drift/drift.xml" in exec_start
    assert "OnCalendar=daily\n" in timer and "WantedBy=timers.target" in timer


def test_write_units_writes_both_files_and_checks_no_host(tmp_path, capsys):
    inventory = tmp_path / "production.py"
    inventory.write_text('hosts = ["agent-01.example.invalid"]\n')  # loaded, never reached
    units_dir = tmp_path / "units"
    units_dir.mkdir()
    code = cli.main(
        ["drift", str(inventory), "--write-units", str(units_dir), "--schedule", "Sun 02:00"]
    )
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in units_dir.iterdir()) == [
        "agenthost-drift.service",
        "agenthost-drift.timer",
    ]
    assert "OnCalendar=Sun 02:00" in (units_dir / "agenthost-drift.timer").read_text()


def test_an_inventory_that_cannot_be_loaded_is_a_usage_error(tmp_path, capsys):
    code = cli.main(["drift", str(tmp_path / "missing.py")])
    assert code == report.EXIT_USAGE
    assert "missing.py: no such inventory file" in capsys.readouterr().err


def test_a_usage_error_is_not_taken_for_drift(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["drift", "inventory.py", "--no-such-option"])
    assert exit_.value.code == report.EXIT_USAGE != report.EXIT_DRIFTED
    assert "--no-such-option" in capsys.readouterr().err


def test_what_was_not_checked_is_shown_but_is_not_drift():
    item = Item("file x: content", "as configured", report.NOT_CHECKED)
    found = HostReport(A, (item,))
    assert found.status == "clean" and report.exit_code([found]) == 0
    assert "file x: content" in report.table([found])


def test_a_wait_for_another_runs_lock_is_said_at_once(capsys):
    wait = "[agent-01] agenthost run R holds /run/agenthost.lock since 21:58:00 UTC (5 s): ...\n"
    output = []
    drift.relay_waits(["--> Loading inventory...\n", wait], output)
    assert output == ["--> Loading inventory...\n", wait]
    assert capsys.readouterr().err == wait

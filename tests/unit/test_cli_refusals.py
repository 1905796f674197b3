"""Every `agenthost` command refuses a mistake before any host is read: all at once, in pyinfra's
words where pyinfra's are the right ones, usage mistakes exit 64, and never with a traceback."""

import sys

import pytest

from agenthost import cli, drift, drift_checks, fleet, hostdata, report
from agenthost.settings import AgentContainer, Settings
from tests.unit.harness import FakeHost, FakeState

A, B = "agent-01.example.com", "agent-02.example.com"
HOSTS = [
    {"name": A, "groups": ["web"], "data": {"agnet_uid": 1, "docker_source": "snap"}},
    {"name": B, "groups": ["db"], "data": {"docker_prune_schedule": "every night"}},
]


@pytest.fixture
def no_host_is_read(monkeypatch):
    """The inventory is these hosts; reading any host fails the test."""
    monkeypatch.setattr(fleet, "inventory_hosts", lambda inventory: HOSTS)

    def check(*_args, **_kwargs):
        raise AssertionError("a host was read")

    monkeypatch.setattr(drift, "check", check)


def run(*argv):
    return cli.main(["drift", "inventory.py", *argv])


def test_every_settings_error_of_every_host_at_once(no_host_is_read, capsys, tmp_path):
    assert run("--json", str(tmp_path / "r.json")) == report.EXIT_UNCHECKED
    err = capsys.readouterr().err
    assert f"host {A}: agnet_uid = 1: unknown setting" in err
    assert f"host {A}: docker_source = 'snap'" in err
    assert f"host {B}: docker_prune_schedule = 'every night': not a systemd calendar" in err
    assert not (tmp_path / "r.json").exists()


def test_settings_errors_only_for_hosts_within_the_limit(no_host_is_read, capsys):
    assert run("--limit", "db") == report.EXIT_UNCHECKED
    err = capsys.readouterr().err
    assert f"host {B}: docker_prune_schedule" in err and A not in err


def test_a_limit_that_matches_no_host_is_a_usage_error_in_pyinfras_words(no_host_is_read, capsys):
    assert run("--limit", "agent-0*", "--limit", "wbe", "--limit", "dbb") == report.EXIT_USAGE
    err = capsys.readouterr().err
    assert "No host matches found for --limit pattern: wbe" in err
    assert "No host matches found for --limit pattern: dbb" in err
    assert "could be checked" not in err


def test_report_paths_are_checked_before_any_host_is_read(no_host_is_read, capsys, tmp_path):
    code = run("--json", "/no/such/dir/drift.json", "--junit", str(tmp_path), "--limit", "nope")
    assert code == report.EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "agenthost drift: --json /no/such/dir/drift.json: no such directory '/no/such/dir'",
        f"agenthost drift: --junit {tmp_path}: is a directory",
        "agenthost drift: No host matches found for --limit pattern: nope",
    ]


def test_an_inventory_pyinfra_cannot_load_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["drift", str(tmp_path / "missing.py")]) == report.EXIT_USAGE
    assert "missing.py: no such inventory file" in capsys.readouterr().err


def test_write_units_checks_the_folder_the_user_the_schedule_and_the_inventory(tmp_path, capsys):
    code = cli.main(["drift", str(tmp_path / "missing.py"), "--write-units", str(tmp_path / "x"),
                     "--user", "no-such-user-here", "--schedule", "every night"])  # fmt: skip
    assert code == report.EXIT_USAGE
    err = capsys.readouterr().err
    for problem in ("--write-units", "--user no-such-user-here: no such user",
                    "--schedule 'every night'", "missing.py: no such inventory file"):  # fmt: skip
        assert problem in err
    assert not list(tmp_path.iterdir()), "no unit was written"


def test_limit_matches_groups_then_host_globs_as_pyinfra():
    assert [h["name"] for h in drift_checks.limited(HOSTS, ["db"])] == [B]
    assert [h["name"] for h in drift_checks.limited(HOSTS, ["agent-0*"])] == [A, B]
    assert drift_checks.limited(HOSTS, []) == HOSTS


def test_pyinfras_error_is_kept_whole_when_no_host_was_planned():
    output = (
        "--> Loading inventory...\n--> Disconnecting from hosts...\n"
        "--> pyinfra error: invalid settings, no host was changed:\n"
        f"host {A}: agent_containers.0.cpus = 64.0: more than the 2 CPUs {A} has\n"
        f"host {B}: x = 1: why\n"
    )
    said = drift.pyinfra_said(output, "")
    assert said.splitlines()[0] == "--> pyinfra error: invalid settings, no host was changed:"
    assert f"host {A}: agent_containers.0.cpus" in said and f"host {B}: x = 1" in said


def test_a_yaml_setting_is_named_with_its_file(tmp_path):
    (tmp_path / "all.yaml").write_text("docker_prune_schedule: every night\ndocker_users: [a b]\n")
    hosts = [{"name": A, "groups": ["web"], "data": {"docker_users": ["c d"]}},
             {"name": B, "groups": ["db"], "data": {}}]  # fmt: skip
    errors = fleet.settings_errors(hosts, tmp_path)
    all_yaml = tmp_path / "all.yaml"
    assert f"host {A}: {all_yaml}: docker_prune_schedule = 'every night'" in "\n".join(errors)
    assert f"host {A}: docker_users = ['c d']" in "\n".join(errors), "the inventory's own wins"
    assert f"host {B}: {all_yaml}: docker_users = ['a b']" in "\n".join(errors)


def test_under_pyinfras_cli_invalid_settings_are_shown_without_a_code_location(monkeypatch):
    """As one of pyinfra_cli's own errors, printed alone, not "error in hostdata.py line 99"
    (a stand-in module: importing pyinfra_cli would patch this process for gevent)."""
    cli_error = type("CliError", (Exception,), {})
    module = type(sys)("pyinfra_cli.exceptions")
    module.CliError = cli_error
    monkeypatch.setitem(sys.modules, "pyinfra_cli", type(sys)("pyinfra_cli"))
    monkeypatch.setitem(sys.modules, "pyinfra_cli.exceptions", module)
    hostdata._cli_invalid_settings.cache_clear()
    try:
        error = hostdata.invalid_settings([f"host {A}: x = 1: why"])
    finally:
        hostdata._cli_invalid_settings.cache_clear()
    assert isinstance(error, cli_error) and isinstance(error, hostdata.InvalidSettings)
    assert str(error) == f"invalid settings, no host was changed:\nhost {A}: x = 1: why"
    monkeypatch.delitem(sys.modules, "pyinfra_cli")
    assert not isinstance(hostdata.invalid_settings(["x"]), cli_error)


def test_settings_readme_that_is_not_there_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["settings", "--readme", str(tmp_path / "README.md")])
    assert exit_.value.code == report.EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_more_cpus_than_the_host_has_is_refused_while_planning():
    from pyinfra.context import ctx_host, ctx_state

    from agenthost.tasks.agent_containers import refuse_more_cpus_than_the_host

    host = FakeHost({"Cpus": 2}, name=A, state=FakeState())
    agent = AgentContainer(name="ci", image="agent:1", cpus=4)
    with ctx_state.use(host.state), ctx_host.use(host):
        with pytest.raises(hostdata.InvalidSettings, match=f"host {A}: agent_containers.0.cpus"
                           f" = 4.0: more than the 2 CPUs {A} has"):  # fmt: skip
            refuse_more_cpus_than_the_host(Settings(agent_containers=[agent]))
        refuse_more_cpus_than_the_host(Settings(agent_containers=[agent.model_copy(
            update={"cpus": 2})]))  # fmt: skip


def test_a_deploy_validates_only_the_hosts_within_its_limit(tmp_path):
    from pyinfra.api import Config, Inventory, State

    inventory = Inventory(([(A, {"agnet_uid": 1}), (B, {"docker_source": "snap"})], {}))
    state = State(inventory, Config())
    state.limit_hosts = [inventory.get_host(B)]
    with pytest.raises(hostdata.InvalidSettings) as caught:
        hostdata.all_settings(state, tmp_path)
    assert f"host {B}: docker_source = 'snap'" in str(caught.value)
    assert A not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [("a: [\n", "all.yaml: not YAML: expected the node content, but found '<stream end>' (line 2,"
                " column 1)"),
     ("- a\n", "all.yaml: expected a mapping of setting: value")],
)  # fmt: skip
def test_a_yaml_file_that_is_not_settings_is_named_once_without_a_traceback(tmp_path, text, said):
    (tmp_path / "all.yaml").write_text(text)
    hosts = [{"name": A, "groups": [], "data": {}}, {"name": B, "groups": [], "data": {}}]
    assert fleet.settings_errors(hosts, tmp_path) == [f"{tmp_path}/{said}"]

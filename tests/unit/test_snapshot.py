"""The host's snapshot: every expected fact in one command, each read as its own command reads it,
and read again once an operation ran commands (facts refreshed after a change)."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest
from pyinfra.api import FactBase, StringCommand
from pyinfra.api.state import StateStage
from pyinfra.context import ctx_host
from pyinfra.facts.files import FileContents

from agenthost.operations.accounts import GroupMembers, UserAccount
from agenthost.operations.apt import PackageVersions
from agenthost.operations.files import Directory, File, ManagedFileState
from agenthost.operations.systemd import UnitState, UnitStates
from agenthost.reads.snapshot import Read, Reads, Snapshot, expect, read
from agenthost.tasks.drop_ins import DropIns


def shell(command) -> list[str]:
    """What pyinfra's connector gives a fact: stdout lines, newline stripped."""
    text = command.get_raw_value() if isinstance(command, StringCommand) else command
    out = subprocess.run(["sh", "-c", text], capture_output=True, text=True).stdout
    return [line.rstrip("\n") for line in out.splitlines()]


def alone(entry: Read):
    """The fact read by itself, as pyinfra reads it: its command, then `process` or default."""
    fact = entry.fact()
    lines = shell(fact.command(**entry.arguments))
    return fact.process(lines) if lines else fact.default()


def without_atime(found: dict) -> dict:
    return {entry: {k: v for k, v in value.items() if k != "atime"}
            if isinstance(value, dict) else value for entry, value in found.items()}  # fmt: skip


class Fails(FactBase):
    def command(self) -> str:
        return "echo half; exit 3"


class NeedsAMissingProgram(FactBase):
    def requires_command(self) -> str:
        return "no-such-program-agenthost"

    def command(self) -> str:
        return "no-such-program-agenthost --version"


class Unterminated(FactBase):
    def command(self) -> str:
        return "printf 'a\\n\\nlast'"

    def process(self, output: list[str]) -> list[str]:
        return output


@pytest.fixture
def files(tmp_path):
    (tmp_path / "it's.conf").write_text("one\n\ntwo\n")
    (tmp_path / "empty").write_text("")
    return tmp_path


def test_one_command_reads_each_fact_as_its_own_command_does(files):
    reads = Reads([
        Read(ManagedFileState, path=str(files / "it's.conf")),
        Read(FileContents, path=str(files / "it's.conf")),
        Read(FileContents, path=str(files / "empty")),
        Read(File, path=str(files / "missing")),
        Read(UserAccount, user="root"),
        Read(UserAccount, user="no-such-user-agenthost"),
        Read(Unterminated),
    ])  # fmt: skip
    snapshot = Snapshot()
    found = snapshot.process(shell(snapshot.command(reads=reads)))
    assert found == {entry: alone(entry) for entry in reads}
    assert found[reads[1]] == ["one", "", "two"]
    assert found[reads[-1]] == ["a", "", "last"]


def test_reads_of_a_batched_fact_are_one_command_and_each_as_its_own_command_reads_it(files):
    (files / "a dir").mkdir()
    (files / "a dir" / "by-hand.conf").write_text("")
    (files / "link").symlink_to(files / "empty")
    paths = [str(files / p) for p in ["it's.conf", "empty", "missing", "a dir", "link"]]
    reads = Reads([
        Read(UserAccount, user="root"),
        *(Read(ManagedFileState, path=path) for path in paths),
        *(Read(fact, path=path) for path in paths for fact in (File, Directory)),
        *(Read(GroupMembers, group=group) for group in ("root", "no-such-group-agenthost")),
        *(Read(DropIns, directory=path) for path in (str(files / "a dir"), str(files))),
        Read(DropIns, directory=str(files / "missing")),
        *(Read(PackageVersions, names=names) for names in  # lists that share a package
          (("coreutils", "dpkg"), ("dpkg",), ("no-such-package-agenthost",))),
    ])  # fmt: skip
    snapshot = Snapshot()
    command = snapshot.command(reads=reads).get_raw_value()
    found = snapshot.process(shell(command))
    # Without atime: the batch's `find` reads "a dir", which may move its atime to the next
    # second before the read alone (this test failed about once in a dozen runs).
    assert without_atime(found) == without_atime({entry: alone(entry) for entry in reads})
    assert command.count("stat -c '%a") == 1 and command.count("sha256sum") == 1
    assert command.count("stat -c 'user=") == 1  # File and Directory alike
    assert command.count("getent group") == 1 and command.count("find") == 1
    assert command.count("dpkg-query -W") == 1
    assert command.count("command -v dpkg-query") == 1  # the batch needs what its facts need
    assert list(found[reads[21]]) == ["coreutils", "dpkg"] and found[reads[23]] == {}
    assert [found[r] is None for r in reads[1:6]] == [False, False, True, True, True]
    assert [bool(found[r]) for r in reads[6:16]] == [True, False, True, False, False, False,
                                                     False, True, False, False]  # fmt: skip
    assert found[reads[16]] == [] and found[reads[17]] is None  # root has no members
    assert found[reads[18]] == [str(files / "a dir" / "by-hand.conf")]


def test_a_failed_batch_leaves_each_of_its_reads_to_the_ordinary_read(files):
    (files / "unreadable").write_text("x")
    reads = Reads(Read(ManagedFileState, path=str(files / p)) for p in ["empty", "unreadable"])
    snapshot = Snapshot()
    command = snapshot.command(reads=reads).get_raw_value()
    command = command.replace("sha256sum --", "false --")  # as if a file vanished midway
    found = snapshot.process(shell(command))
    assert found[reads[0]] is found[reads[1]] is not None  # both marked failed
    assert found[reads[0]] != alone(reads[0])


def test_units_are_read_by_one_systemctl_as_each_alone():
    shown = ["UnitFileState=enabled", "SubState=running", "",
             "SubState=dead", "UnitFileState=disabled", "",
             "SubState=waiting", "UnitFileState=enabled"]  # fmt: skip
    units = ("docker.service", "gone.service", "agenthost-docker-prune.timer")
    batch = UnitStates()
    assert batch.command(values=units).count("systemctl show") == 1
    assert batch.process(shown) == {
        "docker.service": shown[0:2],
        "gone.service": shown[3:5],
        "agenthost-docker-prune.timer": shown[6:8],
    }
    assert UnitState().process(batch.process(shown)["agenthost-docker-prune.timer"]) == {
        "active": True, "enabled": True}
    assert batch.process([line for line in shown if line]) == batch.process(shown)


def test_a_failed_command_or_a_missing_program_is_left_to_the_ordinary_read(files):
    reads = Reads([Read(Fails), Read(NeedsAMissingProgram), Read(File, path=str(files))])
    snapshot = Snapshot()
    found = snapshot.process(shell(snapshot.command(reads=reads)))
    assert found[Read(Fails)] is not None and found[Read(Fails)] != "half"
    assert found[Read(NeedsAMissingProgram)] is found[Read(Fails)]  # the "failed" marker
    assert found[Read(File, path=str(files))] is False  # a directory, not a file
    assert str(reads) == "3 facts"


class State(SimpleNamespace):
    """pyinfra's State, as much as the snapshot uses (a weak reference keys its reads)."""

    __hash__ = object.__hash__


class Host:
    """A pyinfra host whose facts are read by this machine's shell, counting round trips."""

    name = "agent-01"

    def __init__(self, check_for_changes: bool = False):
        self.ops = {}
        self.state = State(
            ops={self: self.ops}, current_stage=StateStage.Prepare,
            check_for_changes=check_for_changes, print_fact_output=True,
        )  # fmt: skip
        self.round_trips: list[str] = []

    def get_fact(self, fact, **arguments):
        shown = "" if self.state.print_fact_output else " (output not shown)"
        self.round_trips.append(fact.__name__ + shown)
        instance = fact()
        lines = shell(instance.command(**arguments))
        return instance.process(lines) if lines else instance.default()

    def ran_an_operation(self, commands: bool) -> None:
        meta = SimpleNamespace(executed=commands)
        self.ops[len(self.ops)] = SimpleNamespace(operation_meta=meta)


def test_expected_reads_come_in_one_round_trip_until_an_operation_runs_commands(files):
    host = Host()
    conf = str(files / "it's.conf")
    with ctx_host.use(host):
        expect([Read(UserAccount, user="root"), Read(ManagedFileState, path=conf)])
        assert read(UserAccount, user="root")["uid"] == 0
        assert read(ManagedFileState, path=conf)["mode"] == 644
        assert host.round_trips == ["Snapshot"]
        assert read(File, path=conf)  # not expected: read by itself
        expect([Read(FileContents, path=conf)])  # a later batch: only it is read
        assert read(FileContents, path=conf) == ["one", "", "two"]
        assert host.round_trips == ["Snapshot", "File", "Snapshot"]

        host.state.current_stage = StateStage.Execute  # `-y`: no question, same facts
        host.ran_an_operation(commands=False)  # a no-op changes nothing
        read(ManagedFileState, path=conf)
        assert host.round_trips == ["Snapshot", "File", "Snapshot"]

        (files / "it's.conf").write_text("changed\n")
        host.ran_an_operation(commands=True)
        assert read(FileContents, path=conf) == ["changed"]
        assert read(ManagedFileState, path=conf)["mode"] == 644
        assert host.round_trips == ["Snapshot", "File", "Snapshot", "Snapshot"]


def test_without_yes_facts_are_read_again_once_the_run_is_executed(files):
    host = Host(check_for_changes=True)
    with ctx_host.use(host):
        expect([Read(UserAccount, user="root")])
        read(UserAccount, user="root")
        host.state.current_stage = StateStage.Execute
        read(UserAccount, user="root")
    assert host.round_trips == ["Snapshot", "Snapshot"]


def test_a_read_whose_command_failed_in_the_snapshot_is_made_by_itself():
    host = Host()
    with ctx_host.use(host):
        expect([Read(Fails), Read(UserAccount, user="root")])
        assert read(Fails) == "half"  # pyinfra would report the failure here
        assert read(UserAccount, user="root")["uid"] == 0
    assert host.round_trips == ["Snapshot", "Fails"]


def test_pyinfra_does_not_print_a_snapshot_or_a_read_that_holds_a_secret(files):
    host = Host()
    conf = str(files / "it's.conf")
    with ctx_host.use(host):
        expect([Read(UserAccount, user="root")])
        read(UserAccount, user="root")
        expect([Read.secret(FileContents, path=conf), Read(Fails)])
        read(FileContents, path=conf)
        read(Fails)
        expect([Read.secret(Fails)])  # now known to hold a secret: read by itself, unprinted
        read(Fails)
    assert host.round_trips == [
        "Snapshot", "Snapshot (output not shown)", "Fails", "Fails (output not shown)",
    ]  # fmt: skip
    assert host.state.print_fact_output is True

"""pyinfra's question before a run: skipped when no host would change, asked otherwise."""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace

import pytest
from pyinfra.context import ctx_state

from agenthost import confirm


def planned(*changes: int) -> SimpleNamespace:
    """A pyinfra state whose hosts plan `changes` changing operations each."""
    hosts = [f"agent-{i}" for i in range(len(changes))]
    meta = {host: SimpleNamespace(ops_change=n) for host, n in zip(hosts, changes, strict=True)}
    return SimpleNamespace(
        inventory=SimpleNamespace(iter_activated_hosts=lambda: iter(hosts)),
        get_meta_for_host=meta.__getitem__,
    )


# pyinfra's command line as its own module, not imported: importing pyinfra_cli patches the
# whole process for gevent, and the subprocesses of later tests then hang.
cli = ModuleType("pyinfra_cli.cli")


@pytest.fixture
def asked(monkeypatch) -> list[str]:
    """pyinfra's own question, recorded instead of reading standard input."""
    questions: list[str] = []
    monkeypatch.setitem(sys.modules, cli.__name__, cli)
    monkeypatch.setattr(cli, "_do_confirm", lambda message: questions.append(message) or True,
                        raising=False)  # fmt: skip
    return questions


def test_a_plan_without_change_asks_nothing(asked):
    assert confirm.skip_when_unchanged()
    with ctx_state.use(planned(0, 0)):
        assert cli._do_confirm("Detected changes displayed above") is True
    assert asked == []


def test_a_plan_with_a_change_on_any_host_asks_as_pyinfra_does(asked):
    confirm.skip_when_unchanged()
    with ctx_state.use(planned(0, 1)):
        assert cli._do_confirm("Detected changes displayed above") is True
    assert asked == ["Detected changes displayed above"]


def test_wrapped_once_however_many_hosts_run_the_deploy(asked):
    assert confirm.skip_when_unchanged()
    wrapped = cli._do_confirm
    assert not confirm.skip_when_unchanged()
    assert cli._do_confirm is wrapped


def test_nothing_is_wrapped_outside_pyinfras_command_line(monkeypatch):
    monkeypatch.delitem(sys.modules, cli.__name__, raising=False)
    assert not confirm.skip_when_unchanged()

"""agenthost verify: the shipped testinfra suite's command line and host selection."""

from __future__ import annotations

import argparse

import pytest

from agenthost import verify
from agenthost.verify.plugin import limited

HOSTS = [{"name": "agent-01", "groups": ["bookworm"], "data": {}},
         {"name": "agent-02", "groups": ["trixie"], "data": {}}]  # fmt: skip


def test_the_command_runs_the_shipped_suite_with_its_plugin():
    args = argparse.Namespace(inventory="inv.py", limit=["agent-01"], junit="v.xml")
    command = verify.pytest_args(args, ["--sudo"])
    assert command[0] == str(verify.HERE) and (verify.HERE / "test_agent_host.py").is_file()
    assert command[command.index("-p") + 1] == "agenthost.verify.plugin"
    assert ["--inventory", "inv.py", "--limit", "agent-01", "--junitxml", "v.xml", "--sudo"] == (
        command[-7:])


def test_limit_takes_names_groups_and_globs_as_pyinfra_does():
    assert [h["name"] for h in limited(HOSTS, ["trixie"])] == ["agent-02"]
    assert [h["name"] for h in limited(HOSTS, ["agent-0*"])] == ["agent-01", "agent-02"]
    assert limited(HOSTS, None) == HOSTS
    with pytest.raises(pytest.UsageError, match="No host matches"):
        limited(HOSTS, ["typo"])

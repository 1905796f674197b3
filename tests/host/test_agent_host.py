"""The resulting state of every setting on each host: a test per host and check of
agenthost.checks, the same checks `agenthost drift` runs."""

import pytest

from agenthost import checks


@pytest.mark.parametrize("check", checks.CHECKS.values(), ids=checks.CHECKS.keys())
def test_state(agent_host: checks.Probe, check: checks.Check) -> None:
    drifted = [item for item in check(agent_host) if not item.ok]
    assert not drifted, "\n".join(
        f"{item.name}: expected {item.expected}, actual {item.actual}" for item in drifted
    )

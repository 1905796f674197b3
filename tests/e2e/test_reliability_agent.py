"""An agent spec the host or Docker refuses leaves the running agent as it was (same ID)."""

from __future__ import annotations

import pytest

from tests.e2e.runner import deploy, write_inventory
from tests.e2e.test_agent import (  # noqa: F401 (fixtures)
    agent_ids,
    converged,
    inspect,
    inventory,
    secrets,
    settings,
    tarball,
)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"cpus": 64}, "cpus = 64.0: more than the"),  # refused while planning, as each host says
        ({"command": ["/nonexistent/agent"]}, "ci-agent was not replaced"),  # never runs
    ],
)
def test_an_agent_that_cannot_run_leaves_the_old_one_running(
    remote, tarball, secrets, inventory, converged, tmp_path, change, said  # noqa: F811
):
    before = agent_ids(remote)
    bad = write_inventory(tmp_path / "inventory.py", settings(tarball, secrets, **change))
    run = deploy(inventory=bad)
    assert run.returncode != 0
    assert said in run.output, run.output
    assert agent_ids(remote) == before
    assert all(inspect(h)["State"]["Status"] == "running" for h in remote.values())
    assert all("agenthost-next" not in h.check_output("docker ps -a --format '{{.Names}}'")
               for h in remote.values())  # fmt: skip
    assert deploy(inventory=inventory).changed() == {}

"""Docker group membership from one account's fact: given these facts, these commands."""

import pytest
from pyinfra.api import OperationError

from agenthost.tasks.docker_socket import group_member
from tests.unit.harness import run_op


def account(*groups: str) -> dict:
    return {"uid": 1000, "gid": 1000, "home": "/home/jenkins", "group": "jenkins",
            "groups": list(groups)}  # fmt: skip


def test_a_member_is_a_noop():
    result = run_op(group_member, {"UserAccount": {"jenkins": account("adm", "docker")}},
                    user="jenkins", group="docker")  # fmt: skip
    assert result.commands == [] and result.noops == ["jenkins is in docker"]


def test_a_user_joins_and_keeps_its_other_groups():
    result = run_op(group_member, {"UserAccount": {"jenkins": account("adm")}},
                    user="jenkins", group="docker")  # fmt: skip
    assert result.commands == ["usermod -a -G docker jenkins"]


def test_a_user_made_earlier_in_the_run_joins_then_and_a_missing_one_fails():
    facts = {"UserAccount": {"jenkins": None}}
    planned = run_op(group_member, facts, user="jenkins", group="docker")
    assert planned.commands == ["true # jenkins joins docker once it exists"]
    with pytest.raises(OperationError, match="jenkins does not exist"):
        run_op(group_member, facts, executing=True, user="jenkins", group="docker")

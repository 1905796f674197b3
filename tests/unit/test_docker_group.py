"""The docker group operation: given its members, these gpasswd commands."""

import pytest
from pyinfra.api import OperationError

from agenthost.operations.accounts import GroupMembers, group_members_exactly
from tests.unit.harness import run_op

ACCOUNTS = {name: {"uid": 1000} for name in ("jenkins", "alice", "bob")}


def facts(members, primary=()):
    return {"GroupMembers": {"docker": members}, "UserAccount": ACCOUNTS,
            "PrimaryGroupUsers": {"docker": list(primary)}}  # fmt: skip


def test_a_user_in_the_group_by_its_primary_group_is_caught():
    with pytest.raises(OperationError, match="docker is the primary group of bob on"):
        run_op(group_members_exactly, facts(["alice"], primary=["bob"]), group="docker",
               users=["alice"])  # fmt: skip
    listed = run_op(group_members_exactly, facts(["alice"], primary=["alice"]), group="docker",
                    users=["alice"])  # fmt: skip
    assert listed.noops


def test_member_names_read_from_the_host_are_quoted():
    result = run_op(group_members_exactly, facts(["x;touch /pwned", "$(id)"]), group="docker",
                    users=[])  # fmt: skip
    assert result.commands == ["gpasswd --delete 'x;touch /pwned' docker >/dev/null",
                               "gpasswd --delete '$(id)' docker >/dev/null"]  # fmt: skip


def test_exact_members_are_a_noop():
    result = run_op(group_members_exactly, facts(["alice", "jenkins"]), group="docker",
                    users=["jenkins", "alice"])  # fmt: skip
    assert result.commands == [] and result.noops == ["docker has exactly jenkins, alice"]


def test_missing_members_are_added_and_others_removed():
    result = run_op(group_members_exactly, facts(["bob", "jenkins"]), group="docker",
                    users=["jenkins", "alice"])  # fmt: skip
    assert result.commands == [
        "gpasswd --add alice docker >/dev/null",
        "gpasswd --delete bob docker >/dev/null",
    ]


def test_waits_for_the_agent_while_planning_and_fails_without_it():
    no_agent = {"UserAccount": {"jenkins": None}}
    planned = run_op(group_members_exactly, {"GroupMembers": {"docker": None}, **no_agent},
                     group="docker", users=["jenkins"])  # fmt: skip
    assert planned.commands == ["true # docker is set once there are user jenkins, group docker"]
    with pytest.raises(OperationError, match="no user jenkins"):
        run_op(group_members_exactly, {"GroupMembers": {"docker": []}, **no_agent},
               executing=True, group="docker", users=["jenkins"])  # fmt: skip


@pytest.mark.parametrize(
    ("output", "members"),
    [([], None), (["docker:x:999:"], []), (["docker:x:999:jenkins,alice"], ["jenkins", "alice"])],
)
def test_group_members_fact(output, members):
    assert GroupMembers().process(output) == members


def test_an_empty_group_has_no_members_not_exactly_nobody():
    result = run_op(group_members_exactly, facts([]), group="docker", users=[])
    assert result.noops == ["docker has no members"]  # `nobody` is a user's name

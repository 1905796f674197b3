"""The agent's lines in /etc/subuid and /etc/subgid: in place when right, no other line moved."""

import pytest

from agenthost.subids import (
    SUB_ID_MAX,
    Range,
    SubIdError,
    agent_lines,
    allocate,
    in_place,
    parse,
)

USERADD = "alice:100000:65536\njenkins:165536:65536\nbob:231072:65536\n"


def test_agent_gets_own_id_first_then_a_free_range():
    text = agent_lines(USERADD, "jenkins", 1001, 65536)
    # Where useradd put the agent's range: the missing line joins it, bob stays after it.
    assert text == "alice:100000:65536\njenkins:1001:1\njenkins:165536:65536\nbob:231072:65536\n"


def test_other_users_lines_stay_byte_for_byte():
    original = "# keep me\nalice:100000:65536\n  bob:231072:65536  \n\n"
    text = agent_lines(original, "jenkins", 1001, 65536)
    assert text.startswith(original)


def test_rerun_is_stable():
    once = agent_lines(USERADD, "jenkins", 1001, 65536)
    assert agent_lines(once, "jenkins", 1001, 65536) == once


def test_useradd_range_replaced_when_size_differs():
    text = agent_lines(USERADD, "jenkins", 1001, 131072)
    assert "jenkins:165536" not in text
    assert text == "alice:100000:65536\njenkins:1001:1\njenkins:296608:131072\nbob:231072:65536\n"


def test_agent_range_moves_off_another_users_range():
    text = agent_lines("alice:100000:65536\njenkins:120000:65536\n", "jenkins", 1001, 65536)
    assert text.endswith("jenkins:1001:1\njenkins:165536:65536\n")


def test_lines_by_numeric_owner_count_as_the_agents():
    text = agent_lines("1001:500000:65536\nalice:100000:65536\n", "jenkins", 1001, 65536)
    assert "1001:" not in text.replace("jenkins:1001:1", "")


def test_missing_final_newline_is_kept_apart():
    assert agent_lines("alice:100000:65536", "jenkins", 1001, 65536).startswith(
        "alice:100000:65536\njenkins:1001:1\n"
    )


def test_allocate_uses_gaps():
    others = [Range("a", 100000, 65536), Range("b", 300000, 65536)]
    assert allocate(others, 65536) == 165536
    assert allocate(others, 200000) == 365536


def test_allocate_overlapping_unsorted_ranges():
    others = [Range("b", 150000, 10), Range("a", 100000, 1_000_000)]
    assert allocate(others, 65536) == 1_100_000


def test_allocate_keeps_a_fitting_range_only():
    others = [Range("a", 100000, 65536)]
    assert allocate(others, 65536, keep=Range("j", 400000, 65536)) == 400000
    assert allocate(others, 65536, keep=Range("j", 130000, 65536)) == 165536
    assert allocate(others, 65536, keep=Range("j", 5000, 65536)) == 165536


def test_exhaustion_is_an_error():
    with pytest.raises(SubIdError, match="no free range"):
        allocate([Range("a", 100000, SUB_ID_MAX)], 65536)


def test_unparseable_line_is_an_error():
    with pytest.raises(SubIdError, match="line 2"):
        parse("alice:100000:65536\ngarbage\n")


@pytest.mark.parametrize("mode", ["root", "uid"])
def test_a_user_added_after_the_deploy_moves_nothing(mode):
    """useradd (and adduser) append the new user's range after the agent's lines."""
    converged = agent_lines(USERADD, "jenkins", 1001, 65536, mode)
    added = converged + "carol:296608:65536\n"
    assert agent_lines(added, "jenkins", 1001, 65536, mode) == added
    assert in_place(added, "jenkins", 1001, 65536, mode)


def test_a_host_converged_with_the_agent_last_stays_as_it_is():
    """What earlier releases wrote (the agent's lines last), with users added since."""
    text = "alice:100000:65536\njenkins:1001:1\njenkins:165536:65536\ncarol:231072:65536\n"
    assert agent_lines(text, "jenkins", 1001, 65536) == text


def test_right_lines_apart_from_each_other_stay_where_they_are():
    text = "jenkins:1001:1\nalice:100000:65536\njenkins:165536:65536\n"
    assert in_place(text, "jenkins", 1001, 65536)


def test_wrong_lines_are_replaced_where_the_first_was_and_no_other_line_moves():
    text = "alice:100000:65536\njenkins:1001:1\nbob:231072:65536\njenkins:999:5\ncarol:1:2\n"
    assert agent_lines(text, "jenkins", 1001, 65536) == (
        "alice:100000:65536\njenkins:1001:1\njenkins:165536:65536\nbob:231072:65536\ncarol:1:2\n"
    )
    assert not in_place(text, "jenkins", 1001, 65536)


def test_a_line_right_but_for_spaces_is_rewritten():
    text = "jenkins:1001:1 \njenkins:165536:65536\n"
    assert agent_lines(text, "jenkins", 1001, 65536) == "jenkins:1001:1\njenkins:165536:65536\n"


def test_the_agents_own_id_is_never_in_its_second_range():
    """An account from a directory (LDAP) may have an id where useradd hands out ranges."""
    text = agent_lines("", "jenkins", 150_000, 65536)
    for line in text.splitlines()[1:]:
        _, start, count = line.split(":")
        assert not int(start) <= 150_000 < int(start) + int(count), text
    kept = agent_lines("jenkins:150000:1\njenkins:100000:65536\n", "jenkins", 150_000, 65536)
    assert "jenkins:100000:65536" not in kept

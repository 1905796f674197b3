"""The `agenthost` command finds the lab's `rehearsal` through its entry point, and says how to
install the lab where its extra is not installed."""

import sys

from agenthost import cli


def without_the_lab_extra(monkeypatch) -> None:
    """As where `pip install agenthost` left out the extra: no docker SDK to import."""
    for name in [n for n in sys.modules if n.split(".")[0] in ("docker", "agenthost_lab")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "docker", None)


def test_without_the_lab_rehearsal_says_how_to_install_it_in_one_line(monkeypatch, capsys):
    without_the_lab_extra(monkeypatch)
    for argv in (["rehearsal", "up", "--set", "e2e"], ["rehearsal"], ["rehearsal", "--help"]):
        assert cli.main(argv) == cli.EXIT_MISSING_EXTRA
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1, err
        assert "install it with: pip install 'agenthost[lab]'" in err
        assert "no module named docker" in err


def test_the_other_commands_work_without_the_lab(monkeypatch, capsys):
    without_the_lab_extra(monkeypatch)
    assert cli.main(["settings"]) == 0
    assert "agent_user" in capsys.readouterr().out


def test_with_the_lab_rehearsal_is_the_labs_command(capsys):
    assert cli.main(["rehearsal", "docker-args", "--set", "e2e"]) == 0
    assert "--cap-add=SYS_ADMIN" in capsys.readouterr().out.split("\n")

"""The lab's command line (agenthost_lab.cli): its arguments, and what its commands print."""

import argparse

import pytest

from agenthost_lab import cli, rehearsal


def parse(argv):
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["rehearsal", *argv])


def test_cli_releases_repeat_or_comma_separate():
    args = parse(["up", "--hosts", "3", "--release", "bookworm,trixie", "--release", "trixie"])
    assert args.release == ["bookworm", "trixie", "trixie"]
    assert args.hosts == 3 and args.set == "default"
    assert callable(args.func)


@pytest.mark.parametrize("argv", [
    ["up", "--release", "buster"],
    ["up", "--hosts", "0"],
    ["up", "--set", "Has Space"],
])
def test_cli_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit):
        parse(argv)


def test_cli_set_has_a_name_alias():
    assert parse(["down", "--name", "e2e"]).set == "e2e"


def test_down_says_what_it_removed(monkeypatch, capsys):
    monkeypatch.setattr(rehearsal, "down", lambda name: ["agenthost-e2e-bookworm-1"])
    assert cli._cmd_down(argparse.Namespace(set="e2e")) == 0
    assert capsys.readouterr().out == "removed set 'e2e': agenthost-e2e-bookworm-1\n"
    monkeypatch.setattr(rehearsal, "down", lambda name: [])
    cli._cmd_down(argparse.Namespace(set="e2e"))
    assert capsys.readouterr().out == "no hosts in set 'e2e'; nothing removed\n"

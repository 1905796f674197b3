"""`agenthost backups`: each host's backups listed from what the host's listing says."""

import argparse
import subprocess

from agenthost import backups, drift_checks

LISTING = """# /var/backups/agenthost
20261206T101010Z/etc/docker/daemon.json
20261206T101010Z/etc/docker/proxy.env.absent
20261207T090000Z/etc/docker/daemon.json
created /etc/docker/proxy.env"""


def test_a_hosts_backups_are_listed_by_stamp_oldest_first_with_what_was_absent():
    assert backups.host_lines("agent-01", LISTING) == [
        "agent-01: 2 run(s) with backups in /var/backups/agenthost/<stamp>:",
        "  20261206T101010Z  /etc/docker/daemon.json",
        "  20261206T101010Z  /etc/docker/proxy.env (none before)",
        "  20261207T090000Z  /etc/docker/daemon.json",
        "  created by agenthost (/var/backups/agenthost/created): /etc/docker/proxy.env",
    ]
    assert backups.host_lines("agent-02", "# /var/backups/agenthost") == [
        "agent-02: no backups in /var/backups/agenthost"
    ]


def test_the_listing_command_names_files_only(tmp_path):
    root = tmp_path / "agenthost"
    (root / "20261206T101010Z/etc/docker").mkdir(parents=True)
    (root / "20261206T101010Z/etc/docker/daemon.json").write_text("secret-free or not")
    (root / "20261206T101010Z/etc/docker/proxy.env.absent").touch()
    (root / "created").write_text("/etc/docker/proxy.env\n")
    command = backups.LIST.replace(backups.BACKUP_DIR, str(root))
    said = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout
    assert said.splitlines()[1:] == LISTING.splitlines()[1:3] + LISTING.splitlines()[4:]


def test_a_host_not_read_fails_the_command_and_is_named(monkeypatch, capsys):
    hosts = [{"name": n, "groups": ["all"], "data": {}} for n in ("agent-01", "agent-02")]
    monkeypatch.setattr(drift_checks, "inventory_hosts", lambda inventory: hosts)
    monkeypatch.setattr(backups, "read_on_hosts",
                        lambda inventory, command, limit: {"agent-01": LISTING})  # fmt: skip
    args = cli_args(["backups", "inv.py"])
    assert args.func(args) == 1
    out, err = capsys.readouterr()
    assert out.startswith("agent-01: 2 run(s)") and "not read from agent-02" in err


def test_a_limit_that_matches_no_host_is_a_usage_mistake_before_any_host_is_read(monkeypatch,
                                                                                   capsys):
    hosts = [{"name": "agent-01", "groups": [], "data": {}}]
    monkeypatch.setattr(drift_checks, "inventory_hosts", lambda inventory: hosts)
    monkeypatch.setattr(backups, "read_on_hosts", lambda *a: (_ for _ in ()).throw(AssertionError))
    args = cli_args(["backups", "inv.py", "--limit", "agent-9"])
    assert args.func(args) == 64
    assert "No host matches found for --limit pattern: agent-9" in capsys.readouterr().err


def cli_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    backups.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)

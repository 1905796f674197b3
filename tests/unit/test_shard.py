"""--shard K/N: every host in exactly one shard, always the same one."""

import json

import pytest

from agenthost import shard

SIX = [f"agent-{i:02}.example.com" for i in range(1, 7)]


def test_three_shards_over_six_hosts_cover_each_host_exactly_once():
    shares = [shard.select(SIX, (k, 3)) for k in (1, 2, 3)]
    assert sorted(name for share in shares for name in share) == sorted(SIX)
    assert all(share == [n for n in SIX if n in share] for share in shares), "inventory order"


def test_a_host_stays_in_its_shard_when_hosts_are_added():
    before = {name: shard.shard_of(name, 3) for name in SIX}
    more = SIX + [f"new-{i}" for i in range(50)]
    assert {name: shard.shard_of(name, 3) for name in more if name in before} == before
    assert shard.select(SIX, (1, 1)) == SIX


def test_shards_are_roughly_even():
    names = [f"host-{i}" for i in range(3000)]
    sizes = [len(shard.select(names, (k, 3))) for k in (1, 2, 3)]
    assert all(900 < size < 1100 for size in sizes), sizes


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "2", "1/3/4"])
def test_a_shard_that_names_no_share_is_refused(text):
    with pytest.raises(shard.ShardError, match="not K/N"):
        shard.parse(text)
    assert shard.parse(" 2/3") == (2, 3)


def test_drift_checks_only_its_shard_and_the_shards_together_report_what_one_run_does(
    monkeypatch, tmp_path
):
    from agenthost import cli, drift, fleet, report

    monkeypatch.setattr(fleet, "inventory_hosts",
                        lambda _: [{"name": n, "groups": [], "data": {}} for n in SIX])  # fmt: skip
    monkeypatch.setattr(fleet, "settings_errors", lambda *_: [])

    def check(_inventory, limit, on_report, **_):  # what pyinfra's --limit would check
        return [report.HostReport(name) for name in (limit or SIX)]

    monkeypatch.setattr(drift, "check", check)
    seen = []
    for k in (1, 2, 3):
        out = tmp_path / f"{k}.json"
        assert cli.main(["drift", "inv.py", "--shard", f"{k}/3", "--json", str(out)]) == 0
        seen += [h["name"] for h in json.loads(out.read_text())["hosts"]]
    assert sorted(seen) == sorted(SIX)


def test_a_wrong_shard_is_a_usage_error_before_any_host_is_read(monkeypatch, capsys):
    from agenthost import cli, fleet, report

    monkeypatch.setattr(fleet, "inventory_hosts", lambda _: [])
    assert cli.main(["drift", "inv.py", "--shard", "4/3"]) == report.EXIT_USAGE
    assert "--shard 4/3: not K/N" in capsys.readouterr().err

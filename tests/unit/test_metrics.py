"""agenthost drift --prometheus: node_exporter's textfile format, as Prometheus parses it."""

import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agenthost import metrics
from agenthost.report import HostReport, Item

CLEAN = HostReport("agent-01", (Item("a", "no change", "no change"),),
                   engine=("distro", "20.10.24+dfsg1-1+deb12u1"))  # fmt: skip
DRIFTED = HostReport("agent-02", (Item("a", "0600 root:root", "0644 root:root"),
                                  Item("b", "no change", "would change")),
                     engine=("docker-ce", "5:27.3.1-1~debian.12~bookworm"))  # fmt: skip
DOWN = HostReport("agent-03", error="Could not connect (refused)")


def samples(path):
    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_the_textfile_parses_and_holds_each_host_and_the_run(tmp_path):
    path = tmp_path / "agenthost.prom"
    metrics.write(str(path), [CLEAN, DRIFTED, DOWN], "2/3", 1_800_000_000.0, 12.5)
    found = samples(path)
    assert found[("agenthost_drift_items", (("host", "agent-02"), ("shard", "2/3")))] == 2
    assert found[("agenthost_drift_items", (("host", "agent-01"), ("shard", "2/3")))] == 0
    assert ("agenthost_drift_items", (("host", "agent-03"), ("shard", "2/3"))) not in found
    assert found[("agenthost_drift_host_checked", (("host", "agent-03"), ("shard", "2/3")))] == 0
    assert found[("agenthost_drift_last_run_timestamp_seconds", (("shard", "2/3"),))] == 1.8e9
    assert found[("agenthost_drift_last_run_duration_seconds", (("shard", "2/3"),))] == 12.5
    engine = (("host", "agent-02"), ("source", "docker-ce"),
              ("version", "5:27.3.1-1~debian.12~bookworm"))  # fmt: skip
    assert found[("agenthost_engine_info", engine)] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["agenthost.prom"], "renamed into place"


@pytest.mark.skipif(not shutil.which("promtool"), reason="Debian's prometheus package brings it")
def test_promtool_finds_the_textfile_well_formed(tmp_path):
    path = tmp_path / "agenthost.prom"
    metrics.write(str(path), [CLEAN, DRIFTED, DOWN], "1/1", 1_800_000_000.0, 3.0)
    checked = subprocess.run(["promtool", "check", "metrics"], input=path.read_text(),
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


RULE_TESTS = """rule_files: [rules.yml]
evaluation_interval: 5m
tests:
  - interval: 1h
    input_series:
      # night 1 (3:00) drifted, night 2 drifted: two nights from 27h on
      - series: 'agenthost_drift_items{host="a",shard="1/1"}'
        values: '0x2 1x48'
      # drifted one night only, repaired by the next
      - series: 'agenthost_drift_items{host="b",shard="1/1"}'
        values: '0x2 1x23 0x24'
      - series: 'agenthost_drift_last_run_timestamp_seconds{shard="1/1"}'
        values: '0x20'
    alert_rule_test:
      - eval_time: 20h
        alertname: AgentHostDriftedTwoNights
        exp_alerts: []
      - eval_time: 28h
        alertname: AgentHostDriftedTwoNights
        exp_alerts:
          - exp_labels: {host: a, shard: 1/1, severity: warning}
            exp_annotations:
              summary: "a has drifted for two nights: see the drift check's Test Result"
      - eval_time: 10h
        alertname: AgentHostDriftCheckNotRun
        exp_alerts: []
"""


@pytest.mark.skipif(not shutil.which("promtool"), reason="Debian's prometheus package brings it")
def test_the_readme_alert_rules_fire_on_two_nights_of_drift_only(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("groups:\n  - name: agenthost")
    (tmp_path / "rules.yml").write_text(readme[start:readme.index("```", start)])
    (tmp_path / "tests.yml").write_text(RULE_TESTS)
    checked = subprocess.run(["promtool", "test", "rules", "tests.yml"], cwd=tmp_path,
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

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

"""Refusals through the real command lines, on the session hosts: each names the host, the
setting and the value, exits as documented, and no command reaches a host (pyinfra reads no fact,
no file changes; `agenthost drift` does not even log in) but where a host's own answer is needed:
the engine version apt has, the CPUs a host has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agenthost import engine, report
from agenthost_lab import engine as lab_engine
from tests.e2e.runner import REPO, SET, deploy, write_inventory
from tests.unit.test_refusals import DANGEROUS as UNIT_DANGEROUS

MARKER = "/tmp/agenthost-refusal-marker"
WATCHED = "/etc /home /root /usr /opt /var/lib/agenthost /var/backups"


def on_host(host, command: str) -> str:
    """A command run by Docker, not over SSH: it logs in nowhere and reads nothing for us."""
    container = lab_engine.ensure_engine().containers.get(host.name)
    code, output = container.exec_run(["sh", "-c", command])
    assert code == 0, (command, output)
    return output.decode()


def ssh_logins(host) -> int:
    """sshd's accepted logins so far, from its journal (which must say something: it logged the
    lab's own logins)."""
    journal = on_host(host, "journalctl -u ssh -u sshd --no-pager -o cat")
    assert "Server listening" in journal or "Accepted" in journal, journal[-500:]
    return journal.count("Accepted ")


@pytest.fixture
def untouched(hosts):
    """Asserts, after the test, that no file changed on any host."""
    for host in hosts:
        on_host(host, f"touch {MARKER}")
    time.sleep(1)  # a change right after the marker is newer than it
    yield
    for host in hosts:
        newer = f"\\( -newer {MARKER} -o -cnewer {MARKER} \\)"
        changed = on_host(host, f"find {WATCHED} {newer} -print 2>/dev/null || true").split()
        assert changed == [], f"{host.name}: {changed}"


def test_a_calendar_systemd_refuses_touches_no_host(hosts, untouched, tmp_path):
    good, bad = hosts[0].name, hosts[1].name
    inventory = write_inventory(tmp_path / "inventory.py", host_data={
        good: {"docker_prune_schedule": "Sun *-*-1..7 03:00 Europe/Berlin"},
        bad: {"docker_prune_schedule": "every night"},
    })  # fmt: skip
    run = deploy("-v", inventory=inventory)  # -v: pyinfra logs each fact it reads
    assert run.returncode == 1, run.output
    assert f"host {bad}: docker_prune_schedule = 'every night': not a systemd calendar event" in (
        run.output
    )
    assert good not in run.output.split("invalid settings")[1], "the good host is not named"
    assert "Loaded fact" not in run.output, "no command reached a host"
    assert "hostdata.py line" not in run.output and "Traceback" not in run.output


def test_a_docker_version_apt_does_not_have_leaves_no_pin(hosts, remote, tmp_path):
    host = hosts[0]
    engine_before = remote[host.name].package("docker.io")
    engine_before = engine_before.version if engine_before.is_installed else None
    inventory = write_inventory(tmp_path / "inventory.py", {"docker_version": "99.0"})
    run = deploy("--limit", host.name, inventory=inventory)
    assert run.returncode == 1, run.output
    said = f"[{host.name}] agenthost: docker_version = '99.0': apt has no docker.io 99.0"
    assert said in run.output, run.output
    assert not remote[host.name].file(engine.PIN).exists, "no pin to a version apt lacks"
    engine_after = remote[host.name].package("docker.io")
    assert (engine_after.version if engine_after.is_installed else None) == engine_before


def test_more_cpus_than_the_host_has_is_refused_before_any_change(hosts, untouched, tmp_path):
    agent = {"name": "agent", "image": "agenthost/none:1", "cpus": 64}
    inventory = write_inventory(tmp_path / "inventory.py", {"agent_containers": [agent]})
    run = deploy(inventory=inventory)
    assert run.returncode == 1, run.output
    named = [h.name for h in hosts if f"host {h.name}: agent_containers.0.cpus = 64.0: more" in
             run.output]  # fmt: skip
    assert named, run.output
    assert "Traceback" not in run.output and "gevent" not in run.output


# Accepted before, and dangerous (issue 23): the fast corpus's cases, each a host of its own with
# a session host's connection, so one pyinfra run proves them all (but a case that changes the
# SSH user, which would change the login itself).
DANGEROUS = [(data, fragment) for data, fragment in UNIT_DANGEROUS if "ssh_user" not in data]


def test_dangerous_inputs_are_refused_by_pyinfra_naming_each_host_before_any_command(
    hosts, untouched, tmp_path
):
    names = [f"bad-{i:02}" for i in range(len(DANGEROUS))]
    cases = json.dumps({name: data for name, (data, _) in zip(names, DANGEROUS, strict=True)})
    inventory = tmp_path / "inventory.py"
    inventory.write_text(
        "import json\n"
        "from agenthost_lab.state import inventory_groups, load_hosts\n"
        f"connect = [c for _, c in inventory_groups(load_hosts({SET!r}))['rehearsal']]\n"
        f"cases = json.loads({cases!r})\n"
        "rehearsal = [(name, {**connect[i % len(connect)], **data})\n"
        "             for i, (name, data) in enumerate(cases.items())]\n"
    )
    # -v: pyinfra logs each fact it reads; --parallel: sshd's MaxStartups drops some of 22
    # logins at once (paramiko then logs a traceback of its own).
    run = deploy("-v", "--parallel", "4", inventory=inventory)
    assert run.returncode == 1, run.output
    missing = [f"host {name}: {fragment}"
               for name, (_, fragment) in zip(names, DANGEROUS, strict=True)
               if f"host {name}: {fragment}" not in run.output]  # fmt: skip
    assert missing == [], run.output
    assert "Loaded fact" not in run.output, "no command reached a host"
    assert "Traceback" not in run.output


# --- agenthost drift ------------------------------------------------------------------------


def drift(directory: Path, *args: str) -> subprocess.CompletedProcess:
    """`agenthost drift` from an operator's deploy folder (its group_data/ beside it)."""
    env = {**os.environ, "AGENTHOST_REHEARSAL_DIR": str(REPO / ".rehearsal")}
    return subprocess.run([sys.executable, "-m", "agenthost", "drift", *args], cwd=directory,
                          env=env, capture_output=True, text=True)  # fmt: skip


@pytest.fixture
def operator_folder(tmp_path) -> Path:
    """Six invalid settings, three in the inventory and three in group_data/all.yaml."""
    write_inventory(tmp_path / "inventory.py", {
        "agnet_uid": 1500, "docker_source": "snap", "agent_user": "root",
    })  # fmt: skip
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.yaml").write_text(
        "docker_prune_schedule: every night\ndocker_users: [a b]\ndocker_prune_until: 1y\n"
    )
    return tmp_path


def test_drift_names_every_bad_setting_and_its_file_and_logs_in_nowhere(
    hosts, operator_folder, untouched
):
    logins = [ssh_logins(host) for host in hosts]
    done = drift(operator_folder, "inventory.py", "--limit", hosts[1].name)
    assert done.returncode == report.EXIT_UNCHECKED, done.stderr
    bad = f"host {hosts[1].name}: "
    for problem in ("agnet_uid = 1500: unknown setting", "docker_source = 'snap'",
                    "agent_user = 'root'",
                    "group_data/all.yaml: docker_prune_schedule = 'every night'",
                    "group_data/all.yaml: docker_users = ['a b']",
                    "group_data/all.yaml: docker_prune_until = '1y'"):  # fmt: skip
        assert bad + problem in done.stderr, done.stderr
    assert hosts[0].name not in done.stderr, "a host outside --limit"
    assert "Traceback" not in done.stderr
    assert [ssh_logins(host) for host in hosts] == logins


def test_drift_usage_mistakes_exit_64_all_at_once_before_any_host_is_read(
    hosts, operator_folder, untouched
):
    logins = [ssh_logins(host) for host in hosts]
    done = drift(operator_folder, "inventory.py", "--limit", "agenthost-typo",
                 "--json", "reports/drift.json", "--junit", "reports/drift.xml")  # fmt: skip
    assert done.returncode == report.EXIT_USAGE, done.stderr
    assert "No host matches found for --limit pattern: agenthost-typo" in done.stderr
    assert "--json reports/drift.json: no such directory 'reports'" in done.stderr
    assert "--junit reports/drift.xml: no such directory 'reports'" in done.stderr
    assert "could not be checked" not in done.stderr and "Traceback" not in done.stderr
    units = operator_folder / "units"
    units.mkdir()
    done = drift(operator_folder, "inventory.py", "--write-units", str(units),
                 "--user", "no-such-operator")  # fmt: skip
    assert done.returncode == report.EXIT_USAGE, done.stderr
    assert "--user no-such-operator: no such user on this machine" in done.stderr
    assert list(units.iterdir()) == []
    assert [ssh_logins(host) for host in hosts] == logins


def test_docker_audit_on_a_container_host_is_refused_before_any_change(hosts, untouched,
                                                                       tmp_path):  # fmt: skip
    host = hosts[0]
    inventory = write_inventory(tmp_path / "inventory.py",
                                host_data={host.name: {"docker_audit": "no-data-dirs"}})
    run = deploy("--limit", host.name, inventory=inventory)
    assert run.returncode == 1, run.output
    said = (f"{host.name}: docker_audit needs the host's own kernel audit, but it runs in a "
            "container")
    assert said in run.output and "set docker_audit: false" in run.output, run.output

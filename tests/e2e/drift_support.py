"""What the drift e2e tests share: a tiny agent image, the command lines they run, and one run
of `agenthost drift` with its reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import docker

from agenthost_lab import state
from tests.e2e.runner import PYINFRA, REPO, SET_PREFIX

SET = f"{SET_PREFIX}drift"
AGENT_IMAGE = "agenthost-drift/agent:1"
MARKER = "/tmp/agenthost-drift-marker"
WATCHED = "/etc /home /root /usr /opt /var/lib/agenthost /var/backups"

# A tiny agent image from the build machine's busybox (no registry here); its healthcheck is
# patient, as this machine is shared and sometimes slow.
DOCKERFILE = """FROM scratch
COPY rootfs/ /
HEALTHCHECK --interval=3s --timeout=30s --retries=10 CMD ["/bin/true"]
CMD ["/bin/sleep", "1000000"]
"""


def build_agent_image(directory: Path) -> Path:
    root = directory / "rootfs"
    # Debian's busybox is static on some releases: then ldd names no library (and exits 1).
    libraries = subprocess.run(["ldd", "/usr/bin/busybox"], capture_output=True,
                               text=True).stdout.split()  # fmt: skip
    for path in ["/usr/bin/busybox", *(word for word in libraries if word.startswith("/"))]:
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / path.lstrip("/"))
    (root / "bin").mkdir(exist_ok=True)
    for applet in ("sh", "sleep", "true"):
        (root / "bin" / applet).symlink_to("/usr/bin/busybox")
    (directory / "Dockerfile").write_text(DOCKERFILE)
    client = docker.from_env()
    client.images.build(path=str(directory), tag=AGENT_IMAGE, rm=True)
    tarball = directory / "agent.tar"
    with tarball.open("wb") as out:
        for chunk in client.images.get(AGENT_IMAGE).save(named=True):
            out.write(chunk)
    return tarball


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def ssh(host: state.Host, command: str) -> str:
    config = state.state_dir(SET) / "ssh_config"
    process = subprocess.run(["ssh", "-F", str(config), host.name, command],
                             capture_output=True, text=True)  # fmt: skip
    assert process.returncode == 0, f"{host.name}: {command}: {process.stderr}"
    return process.stdout


def deploy(inventory: Path, hosts: list[state.Host]) -> None:
    process = run(PYINFRA, "-y", str(inventory), "deploy.py")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    for host in hosts:  # the agent's healthcheck needs a moment after a (re)start
        deadline = time.monotonic() + 90
        while ssh(host, "docker inspect -f '{{.State.Health.Status}}' agent").strip() != "healthy":
            assert time.monotonic() < deadline, f"{host.name}: agent not healthy"
            time.sleep(2)


class Drift:
    """One run of `python -m agenthost drift` with its reports (`name` keeps runs apart)."""

    def __init__(self, inventory: Path, directory: Path, *options: str, name: str = "drift"):
        json_file, junit_file = directory / f"{name}.json", directory / f"{name}.xml"
        self.prometheus = directory / f"{name}.prom"
        process = run(sys.executable, "-m", "agenthost", "drift", str(inventory), *options,
                      "--json", str(json_file), "--junit", str(junit_file),
                      "--prometheus", str(self.prometheus))  # fmt: skip
        self.returncode, self.output = process.returncode, process.stdout + process.stderr
        assert json_file.exists() and junit_file.exists(), self.output
        self.json_text, self.junit_text = json_file.read_text(), junit_file.read_text()
        self.hosts = {host["name"]: host for host in json.loads(self.json_text)["hosts"]}

    def drifted(self, host: str) -> dict[str, tuple[str, str]]:
        items = self.hosts[host]["items"]
        return {i["name"]: (i["expected"], i["actual"]) for i in items if not i["ok"]}

    def junit_failures(self) -> set[tuple[str, str]]:
        root = ET.fromstring(self.junit_text.split("\n", 1)[1])
        return {(suite.get("name"), case.get("name")) for suite in root
                for case in suite if case.find("failure") is not None}  # fmt: skip


def host_suite(directory: Path, *options: str) -> tuple[int, set[str], str]:
    """`agenthost verify INVENTORY ...`: exit code, names of the tests that did not pass,
    output."""
    junit = directory / "host-suite.xml"
    process = run(sys.executable, "-m", "agenthost", "verify", *options, "--junit", str(junit))
    failed = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")
              if case.find("failure") is not None or case.find("error") is not None}  # fmt: skip
    return process.returncode, failed, process.stdout + process.stderr


def failed_checks(failed: set[str], host: str) -> set[str]:
    """The tests that failed on `host`, from names such as test_files[HOST]."""
    return {name.split("[")[0] for name in failed if f"[{host}" in name}




def changed_files(host: state.Host) -> list[str]:
    newer = f"\\( -newer {MARKER} -o -cnewer {MARKER} \\)"
    return ssh(host, f"find {WATCHED} {newer} -print 2>/dev/null || true").split()


def both_sides_in_junit(junit_text: str, host: str) -> dict[str, str]:
    """Each failed testcase of `host`: its failure's message and text, by testcase name."""
    root = ET.fromstring(junit_text.split("\n", 1)[1])
    return {case.get("name"): f"{failure.get('message')}\n{failure.text}"
            for suite in root if suite.get("name") == host
            for case in suite if (failure := case.find("failure")) is not None}  # fmt: skip


def status(inventory: Path, directory: Path) -> subprocess.CompletedProcess:
    """`agenthost status INVENTORY --json`, with the JSON's hosts by name as `.hosts`."""
    json_file = directory / "status.json"
    process = run(sys.executable, "-m", "agenthost", "status", str(inventory),
                  "--json", str(json_file))  # fmt: skip
    process.hosts = {h["name"]: h for h in json.loads(json_file.read_text())["hosts"]}
    return process

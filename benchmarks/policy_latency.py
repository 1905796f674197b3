"""What the Docker policy adds to each Docker API call, measured on converged rehearsal hosts
(`./scripts/rehearse` first). Measured, never asserted: run it by hand.

    .venv/bin/python benchmarks/policy_latency.py [--set default] [--runs 30]

On each host, as root: the median of --runs runs of `docker ps`, `docker run --rm`, `docker exec`
and a small `docker build`, through the real socket and through the agent's policy socket, and
of 300 raw API calls (`GET /_ping`, `GET /containers/json`) each way; then the pipeline replay
(agenthost_lab.pipeline) once each way. Prints a table and writes
results/policy-latency-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from agenthost.docker_policy import SOCKET_DIR
from agenthost_lab import agent_image, pipeline, state

RESULTS = Path(__file__).resolve().parent / "results"
REAL = "/run/docker.sock"
POLICY = f"{SOCKET_DIR}/account.sock"

# Runs on the host (python3 is there: the policy needs it).
PROBE = r"""
import json, os, socket, statistics, subprocess, sys, time
image, runs, sockets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
os.makedirs("/tmp/bench-build", exist_ok=True)
open("/tmp/bench-build/Dockerfile", "w").write(f"FROM {image}\nRUN echo built > /built\n")
subprocess.run(["docker", "rm", "-f", "bench-exec"], capture_output=True)
subprocess.run(["docker", "run", "-d", "--name", "bench-exec", image, "sleep", "600"], check=True,
               capture_output=True)
commands = {
    "docker ps": ["docker", "ps", "-q"],
    "docker run --rm": ["docker", "run", "--rm", image, "true"],
    "docker exec": ["docker", "exec", "bench-exec", "true"],
    "docker build (small)": ["docker", "build", "-q", "--no-cache", "-t", "bench:1",
                             "/tmp/bench-build"],
}
def api(path, sock):
    started = time.perf_counter()
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n".encode())
    while s.recv(65536): pass
    s.close()
    return time.perf_counter() - started
found = {}
envs = {sock: {**os.environ, "DOCKER_HOST": f"unix://{sock}", "DOCKER_BUILDKIT": "0"}
        for sock in sockets}
# Interleaved, socket by socket within each round: a busy machine slows both alike.
for name, command in commands.items():
    times = {sock: [] for sock in sockets}
    for _ in range(runs):
        for sock in sockets:
            started = time.perf_counter()
            subprocess.run(command, env=envs[sock], check=True, capture_output=True)
            times[sock].append(time.perf_counter() - started)
    found[name] = {sock: statistics.median(t) * 1000 for sock, t in times.items()}
for path in ("/_ping", "/v1.41/containers/json"):
    times = {sock: [] for sock in sockets}
    for _ in range(300):
        for sock in sockets:
            times[sock].append(api(path, sock))
    found[f"API GET {path}"] = {sock: statistics.median(t) * 1000 for sock, t in times.items()}
subprocess.run(["docker", "rm", "-f", "bench-exec"], capture_output=True)
print(json.dumps(found))
"""


def on_host(ssh_config: Path, name: str, command: str) -> str:
    done = pipeline.ssh(ssh_config, name, command)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip()}")
    return done.stdout


def replay_seconds(ssh_config: Path, name: str, socket: str) -> float:
    """The replay's wall time, SSH session included (the same both ways)."""
    workspace = "/var/lib/agenthost/workspace/bench-replay"
    replay = pipeline.command(workspace, agent_image.TAG)
    # Root runs it (it may use both sockets); the workspace is the agent's, as under Jenkins.
    on_host(ssh_config, name, f"install -d -o jenkins -g jenkins {workspace} {workspace}@tmp")
    started = time.monotonic()
    said = on_host(ssh_config, name, f"DOCKER_HOST=unix://{socket} {replay}")
    elapsed = time.monotonic() - started
    on_host(ssh_config, name, f"rm -rf {workspace} {workspace}@tmp")
    if any(result != "ok" for flow, result in pipeline.results(said).items() if flow != "as"):
        raise RuntimeError(f"{name}: the replay failed through {socket}: {said}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default=state.DEFAULT_SET)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ssh_config = state.state_dir(args.set) / "ssh_config"
    results = {}
    for host in state.load_hosts(args.set):
        probe = shlex.join(["python3", "-c", PROBE, agent_image.TAG, str(args.runs), REAL, POLICY])
        found = json.loads(on_host(ssh_config, host.name, probe))
        found["pipeline replay (s)"] = {s: replay_seconds(ssh_config, host.name, s)
                                        for s in (REAL, POLICY)}  # fmt: skip
        results[host.name] = found
    print(f"{'host':28} {'what':30} {'direct':>9} {'policy':>9} {'added':>9}")
    for name, found in results.items():
        for what, by_socket in found.items():
            direct, through = by_socket[REAL], by_socket[POLICY]
            unit = "s" if "(s)" in what else "ms"
            print(f"{name:28} {what:30} {direct:8.2f}{unit} {through:8.2f}{unit}"
                  f" {through - direct:8.2f}{unit}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"policy-latency-{stamp}.json"
    out.write_text(json.dumps({"runs": args.runs, "median_ms": results}, indent=2, sort_keys=True))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a Jenkins pipeline runs on an agent host, replayed command for command.

The Docker Pipeline plugin's DockerClient (`.inside()`, declarative `agent { docker }`): `docker
inspect`, `docker run -t -d -u UID:GID [args] -w WS -v WS:WS:rw,z -v WS@tmp:WS@tmp:rw,z -e ...
--entrypoint cat IMAGE`, `docker top`, `docker exec`, `docker stop --time=1`, `docker rm -f`,
with UID:GID from `id -u`/`id -g` of the agent process; `docker.build` (`docker build -t TAG .`
in the workspace); a `sh 'docker run -v $WORKSPACE:$WORKSPACE ...'` step, root in its image; and
`deleteDir()`. The script runs as the agent: in its SSH session, or in an agent container.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

FLOWS = {
    "inside": ".inside() / agent { docker }",
    "build": "docker.build",
    "sibling": "sh 'docker run -v $WORKSPACE:...' (root in the image)",
    "deleteDir": "deleteDir()",
}

# $1 workspace, $2 image, $3 extra `args` of .inside(), $4 extra options of the sibling's run.
SCRIPT = r"""
WS=$1 IMAGE=$2
# Expanded as the pipeline's sh step would: `-u $(id -u):$(id -g)` becomes the agent's ids.
INSIDE_ARGS=$(eval "echo $3") SIBLING_ARGS=$(eval "echo $4")
step() {  # name command...: one result line, the command's last words when it failed
    name=$1; shift
    if said=$("$@" 2>&1); then echo "ok $name"
    else echo "FAIL $name: $(echo "$said" | tail -n 1)"; fi
}
# Each flow leaves what it made, a directory with a file in it as builds do, for deleteDir().
inside() {
    docker inspect -f . "$IMAGE" >/dev/null || return 1
    cid=$(docker run -t -d -u "$(id -u):$(id -g)" $INSIDE_ARGS -w "$WS" \
        -v "$WS:$WS:rw,z" -v "$WS@tmp:$WS@tmp:rw,z" \
        -e "WORKSPACE=$WS" -e "WORKSPACE_TMP=$WS@tmp" -e BUILD_NUMBER=1 \
        --entrypoint cat "$IMAGE") || return 1
    docker top "$cid" -eo pid,comm >/dev/null &&
        docker exec "$cid" sh -c 'mkdir -p out && echo built > out/file &&
            mkdir -p "$WORKSPACE_TMP/durable" && echo 0 > "$WORKSPACE_TMP/durable/result"'
    rc=$?
    docker stop --time=1 "$cid" >/dev/null; docker rm -f "$cid" >/dev/null
    [ $rc = 0 ] && [ -f "$WS/out/file" ]
}
build() {
    printf 'FROM %s\nRUN echo built > /built\n' "$IMAGE" > "$WS/Dockerfile" &&
        (cd "$WS" && docker build -q -t "replay-$$:1" .) && docker image rm "replay-$$:1"
}
sibling() {
    docker run --rm $SIBLING_ARGS -v "$WS:$WS" -w "$WS" "$IMAGE" \
        sh -c 'mkdir -p target && echo hi > target/file' && [ -f "$WS/target/file" ]
}
delete_dir() {
    rm -rf "$WS" "$WS@tmp" && [ ! -e "$WS" ] && [ ! -e "$WS@tmp" ]
}
mkdir -p "$WS" "$WS@tmp" || exit 1
echo "as $(id -u):$(id -g)"
step inside inside
step build build
step sibling sibling
step deleteDir delete_dir
"""


def command(workspace: str, image: str, inside_args: str = "", sibling_args: str = "") -> str:
    """The replay as one shell command line, to run as the agent."""
    return shlex.join(["sh", "-c", SCRIPT, "replay", workspace, image, inside_args, sibling_args])


def in_container(container: str, replay: str) -> str:
    """`replay` run by an agent container, as its own user, from root on the host."""
    return shlex.join(["docker", "exec", container, "sh", "-c", replay])


def results(output: str) -> dict[str, str]:
    """Flow -> `ok` or the failure's last words; `as` -> the uid:gid it ran as."""
    found = {}
    for line in output.splitlines():
        verdict, _, rest = line.partition(" ")
        if verdict == "as":
            found["as"] = rest
        elif verdict in ("ok", "FAIL"):
            flow, _, said = rest.partition(": ")
            found[flow] = "ok" if verdict == "ok" else said or "failed"
    return found


def ssh(ssh_config: Path, host: str, remote_command: str, user: str | None = None,
        key: Path | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """`remote_command` on a rehearsal host over SSH (as `user` with `key` when given)."""
    options = ["-F", str(ssh_config), "-o", "BatchMode=yes"]
    if key:
        options += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    target = f"{user}@{host}" if user else host
    return subprocess.run(["ssh", *options, target, remote_command],
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def summary(host: str, where: str, found: dict[str, str]) -> str:
    lines = [f"{host}: a Docker Pipeline replayed {where}, as uid:gid {found.get('as', '?')}"]
    for flow, title in FLOWS.items():
        result = found.get(flow, "not run")
        lines.append(f"  {'ok  ' if result == 'ok' else 'FAIL'} {title}"
                     + ("" if result == "ok" else f": {result}"))  # fmt: skip
    return "\n".join(lines)

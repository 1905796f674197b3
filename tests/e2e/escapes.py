"""Ways a build could try to become root on its host through Docker, for the policy's e2e test:
each through the real `docker` CLI (run by the agent, in its container, in a build container)
or as raw HTTP on the agent's policy socket (run by the agent with the host's python3)."""

from __future__ import annotations

import json
import shlex

OUT = "/root/escaped"  # an escape that worked leaves this file, owned by root
REFUSED = "agenthost docker policy refuses"


def cli(image: str, workspace: str, operator: str) -> dict[str, str]:
    """name -> shell command; `operator` is a container root started with / mounted."""
    run = f"docker run --rm {image}"
    write = f"sh -c 'echo x > /h{OUT}'"
    return {
        "userns host with / mounted": f"docker run --rm --userns=host -v /:/h {image} {write}",
        "privileged": f"docker run --rm --privileged {image} true",
        "pid host": f"docker run --rm --pid=host {image} true",
        "ipc host": f"docker run --rm --ipc=host {image} true",
        "uts host": f"docker run --rm --uts=host {image} true",
        "cgroupns host": f"docker run --rm --cgroupns=host {image} true",
        "cap-add SYS_ADMIN": f"docker run --rm --cap-add SYS_ADMIN {image} true",
        "cap-add ALL": f"docker run --rm --cap-add ALL {image} true",
        "device": f"docker run --rm --device /dev/kmsg {image} true",
        "gpus": f"docker run --rm --gpus all {image} true",
        "apparmor unconfined": f"docker run --rm --security-opt apparmor=unconfined {image} true",
        "seccomp unconfined": f"docker run --rm --security-opt seccomp=unconfined {image} true",
        "systempaths unconfined": f"docker run --rm --security-opt systempaths=unconfined"
                                  f" {image} true",
        "bind /": f"docker run --rm -v /:/h {image} {write}",
        "bind /etc": f"docker run --rm -v /etc:/h/etc {image} true",
        "bind the docker socket": f"docker run --rm -v /var/run/docker.sock:/s {image} true",
        "bind /run": f"docker run --rm -v /run:/r {image} true",
        "mount /": f"docker run --rm --mount type=bind,src=/,dst=/h {image} {write}",
        "volume bind options": f"docker run --rm --mount type=volume,dst=/h,volume-opt=type=none"
                               f",volume-opt=o=bind,volume-opt=device=/ {image} true",
        "volume create bind": "docker volume create -o type=none -o o=bind -o device=/etc evil",
        "symlink out of the workspace": f"mkdir -p {workspace} && ln -sfn / {workspace}/out &&"
                                        f" docker run --rm -v {workspace}/out:/h {image} {write}",
        "volumes-from a root container": f"docker run --rm --volumes-from {operator} {image}"
                                         f" sh -c 'echo x > /host{OUT}'",
        "exec into a root container": f"docker exec {operator} sh -c 'echo x > /host{OUT}'",
        "copy from a root container": f"docker cp {operator}:/host/etc/shadow /tmp/shadow",
        "pid of a root container": f"docker run --rm --pid=container:{operator} {image} true",
        "plugin install": "docker plugin install --grant-all-permissions vieux/sshfs",
        "swarm init": "docker swarm init",
        "privileged exec": f"docker exec --privileged {operator} true",
        "a plain run is allowed (control)": f"{run} true",
    }


def cli_script(attempts: dict[str, str]) -> str:
    """One line per attempt: `REFUSED name`, `ALLOWED name` or `OTHER name: last words`."""
    lines = []
    for name, command in attempts.items():
        name = shlex.quote(name)
        lines.append(
            f"said=$({command} 2>&1); rc=$?; "
            f'if echo "$said" | grep -q {shlex.quote(REFUSED)}; then echo REFUSED {name};'
            f" elif [ $rc = 0 ]; then echo ALLOWED {name};"
            f' else echo OTHER {name}: $(echo "$said" | tail -n 1); fi'
        )
    return "\n".join(lines)


def raw_requests(container: str) -> dict[str, bytes]:
    """name -> bytes written to the socket as they are (`container`: an existing container)."""
    privileged = json.dumps({"Image": "x", "HostConfig": {"Privileged": True}}).encode()
    lower = b'{"image": "x", "hostconfig": {"privileged": true}}'
    host_userns = json.dumps({"Image": "x", "HostConfig": {"UsernsMode": "host"}}).encode()

    def post(path: str, body: bytes, version: str = "1.1", extra: bytes = b"") -> bytes:
        head = (f"POST {path} HTTP/{version}\r\nHost: docker\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n").encode()  # fmt: skip
        return head + extra + b"\r\n" + body

    parts = (privileged[:10], privileged[10:])
    chunked = (b"POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
               + b"0\r\n\r\n")  # fmt: skip
    return {
        "chunked body": chunked,
        "HTTP/1.0": post("/containers/create", host_userns, "1.0"),
        "lower-case keys": post("/v1.41/containers/create", lower),
        "encoded path": post("/v1.41/containers%2Fcreate", privileged),
        "no version prefix": post("/containers/create", privileged),
        "old API version": post("/v1.23/containers/create", privileged),
        "pipelined after a ping": b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
                                  + post("/v1.41/containers/create?name=pipelined", privileged),
        "length and chunked": post("/v1.41/containers/create", privileged,
                                   extra=b"Transfer-Encoding: chunked\r\n"),
        "start with a HostConfig": post(f"/v1.20/containers/{container}/start",
                                        b'{"Privileged": true, "Binds": ["/:/h"]}'),
        "plugin pull": post("/v1.41/plugins/pull?remote=vieux/sshfs", b"[]"),
    }


RAW_CLIENT = r"""
import json, socket, sys
requests = json.loads(sys.stdin.read())
for name, data in requests.items():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(data.encode("latin-1"))
    s.settimeout(10)
    answer = b""
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except socket.timeout:
        pass
    s.close()
    print(json.dumps([name, answer.decode("latin-1")]))
"""

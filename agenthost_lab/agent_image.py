"""A Docker-out-of-Docker agent image made on this machine, for rehearsals and tests.

busybox (sh, id, cat, ...) and Debian's docker client with the libraries they link, imported as
one layer: no registry, no debootstrap, a few seconds to make. It serves as the agent container
and as the build image the replayed pipelines run in.
"""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from agenthost_lab import engine
from agenthost_lab.state import RehearsalError

log = logging.getLogger(__name__)

TAG = "agenthost-lab/agent:2"  # a new number for a new recipe: a cached image is not reused
DOCKER_CLIENT = "/usr/bin/docker"  # Debian's docker.io client; a static one needs no libraries
BUSYBOX = "/bin/busybox"  # busybox-static, or Debian's busybox (which links libresolv)
# docker stop's SIGTERM ends it at once; a plain `sleep` as PID 1 would ignore it.
IDLE = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
FILE_NAME = "agent-image.tar.gz"


def ensure_image() -> str:
    """TAG on this machine's engine, made when absent."""
    engine.ensure_engine()
    if _docker("image", "inspect", TAG, check=False).returncode == 0:
        log.info("agent image %s: cached", TAG)
        return TAG
    if not Path(BUSYBOX).exists():
        engine.apt_install("busybox-static")
    if not Path(DOCKER_CLIENT).exists():
        raise RehearsalError(f"no {DOCKER_CLIENT} for the agent image (Debian's docker.io has it)")
    log.info("agent image %s: importing busybox and %s", TAG, DOCKER_CLIENT)
    _docker(
        "image", "import", "--change", f"CMD {json.dumps(IDLE)}",
        "--change", "LABEL org.opencontainers.image.title=agenthost-lab-agent",
        "-", TAG, input=root_tar(),
    )  # fmt: skip
    return TAG


def save(directory: Path) -> Path:
    """The image as a `docker save` tarball in `directory`, for docker_image_preload."""
    ensure_image()
    path = directory / FILE_NAME
    directory.mkdir(parents=True, exist_ok=True)
    log.info("agent image %s: saving to %s", TAG, path)
    with path.open("wb") as out:
        saved = subprocess.Popen(["docker", "image", "save", TAG], stdout=subprocess.PIPE)
        subprocess.run(["gzip", "-1"], stdin=saved.stdout, stdout=out, check=True)
        if saved.wait() != 0:
            raise RehearsalError(f"docker image save {TAG} failed")
    return path


def root_tar() -> bytes:
    """The image's file system: busybox with its applets, the docker client and the libraries
    the two link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        libraries = sorted({*_libraries(BUSYBOX), *_libraries(DOCKER_CLIENT)})
        directories = {"bin": 0o755, "sbin": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
                       "etc": 0o755, "tmp": 0o1777, "root": 0o700}  # fmt: skip
        for library in libraries:
            for parent in reversed(Path(library.lstrip("/")).parents[:-1]):
                directories.setdefault(str(parent), 0o755)
        for directory, mode in sorted(directories.items()):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        for applet in _applets():
            if applet != "bin/busybox":
                info = tarfile.TarInfo(applet)
                info.type, info.linkname = tarfile.SYMTYPE, "/bin/busybox"
                tar.addfile(info)
        tar.add(DOCKER_CLIENT, "usr/bin/docker")
        for library in libraries:  # the files, under the names the client asks for
            tar.add(str(Path(library).resolve()), library.lstrip("/"))
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n")):  # fmt: skip
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _applets() -> list[str]:
    listed = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True, check=True)
    return sorted(set(listed.stdout.split()))


def _libraries(binary: str) -> list[str]:
    """Real paths of the shared libraries `binary` loads, the dynamic loader included."""
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if "not a dynamic executable" in ldd.stdout + ldd.stderr:
        return []
    paths = re.findall(r"(/\S+) \(0x", ldd.stdout)
    return sorted({p for p in paths if Path(p).exists()})


def _docker(*args: str, check: bool = True, input: bytes | None = None):
    if not shutil.which("docker"):
        raise RehearsalError("no docker client on this machine")
    result = subprocess.run(["docker", *args], input=input, capture_output=True)
    if check and result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()
        raise RehearsalError(f"docker {' '.join(args[:2])} failed: {said}")
    return result

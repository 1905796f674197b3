"""Docker facts the built-ins read unsafely: pyinfra's DockerImage puts the reference into
the shell as is."""

from __future__ import annotations

import shlex

from pyinfra.facts import docker


class DockerImage(docker.DockerImage):
    """`docker image inspect` of one reference, quoted (pyinfra's puts it in the shell as is)."""

    def command(self, object_id: str) -> str:
        return f"docker image inspect {shlex.quote(object_id)} 2>/dev/null || true"

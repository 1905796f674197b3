"""The lab's agent image holds what its two binaries need to run."""

import io
import tarfile

from agenthost_lab import agent_image


def test_the_image_holds_the_libraries_of_busybox_and_of_the_client(tmp_path, monkeypatch):
    files = {name: tmp_path / name for name in ("busybox", "docker", "libc.so.6", "libresolv.so.2")}
    for path in files.values():
        path.write_bytes(b"\x7fELF")
    linked = {str(files["busybox"]): [str(files["libc.so.6"]), str(files["libresolv.so.2"])],
              str(files["docker"]): [str(files["libc.so.6"])]}  # fmt: skip
    monkeypatch.setattr(agent_image, "BUSYBOX", str(files["busybox"]))
    monkeypatch.setattr(agent_image, "DOCKER_CLIENT", str(files["docker"]))
    monkeypatch.setattr(agent_image, "_libraries", lambda binary: linked[binary])
    monkeypatch.setattr(agent_image, "_applets", lambda: ["bin/busybox", "bin/sh"])
    names = tarfile.open(fileobj=io.BytesIO(agent_image.root_tar())).getnames()
    assert {"bin/busybox", "bin/sh", "usr/bin/docker"} <= set(names)
    for library in ("libc.so.6", "libresolv.so.2"):  # Debian's busybox links libresolv
        assert names.count(str(files[library]).lstrip("/")) == 1

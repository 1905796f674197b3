import gzip
import io
import json
import tarfile

import pytest

from agenthost.settings import AGENT_IMAGE_PACKAGES
from agenthost.tasks.docker_images import TarballError, tarball_references
from agenthost.templating import render


def docker_save(path, manifest, compress=False):
    data = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue()) if compress else buffer.getvalue())
    return str(path)


@pytest.mark.parametrize("compress", [False, True])
def test_references_come_from_the_tarball_manifest(tmp_path, compress):
    manifest = [{"RepoTags": ["agent:1"]}, {"RepoTags": ["debian:trixie", "base:1"]}]
    path = docker_save(tmp_path / "images.tar", manifest, compress)
    assert tarball_references(path) == ("agent:1", "debian:trixie", "base:1")


def test_unnamed_images_and_other_files_are_refused(tmp_path):
    with pytest.raises(TarballError, match="no name"):
        tarball_references(docker_save(tmp_path / "unnamed.tar", [{"RepoTags": None}]))
    other = tmp_path / "other.tar"
    other.write_text("not a tarball")
    with pytest.raises(TarballError, match="not a `docker save` tarball"):
        tarball_references(str(other))


def test_dockerfile_is_a_dood_agent_image():
    dockerfile = render(
        "Dockerfile.agent.j2", base="debian:trixie-slim", packages=list(AGENT_IMAGE_PACKAGES),
        user="jenkins", uid=1001, gid=1002,
    )  # fmt: skip
    lines = dockerfile.splitlines()
    assert "FROM debian:trixie-slim" in lines
    assert all(f"      {package} \\" in lines for package in AGENT_IMAGE_PACKAGES
               if "~" not in package)  # fmt: skip
    assert all("=" in package for package in AGENT_IMAGE_PACKAGES)  # pinned
    assert sum(line.startswith("RUN ") for line in lines) == 1  # one layer, cleaned in it
    assert "rm -rf /var/lib/apt/lists/*" in dockerfile
    assert "USER 1001:1002" in lines
    assert "STOPSIGNAL SIGTERM" in lines
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert any(line.startswith("LABEL ") for line in lines)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in lines

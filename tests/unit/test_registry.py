"""Registry pulls: which registry a reference names, the credentials file, the pull operation."""

import base64
import json
import os

import pytest

from agenthost import hostdata, registry
from agenthost.paths import PULL_CONFIG
from agenthost.settings import Settings
from agenthost.tasks.docker_images import image_pulled
from tests.unit.harness import run_op


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("jenkins/inbound-agent:3283", "docker.io"), ("debian", "docker.io"),
        ("registry.example/ci/agent:1", "registry.example"),
        ("127.0.0.1:5000/agent:1", "127.0.0.1:5000"), ("localhost/agent", "localhost"),
    ],
)  # fmt: skip
def test_registry_of(reference, expected):
    assert registry.registry_of(reference) == expected


def test_a_login_config_for_one_registry():
    config = json.loads(registry.docker_config("127.0.0.1:5000", "ci", "pw"))
    assert base64.b64decode(config["auths"]["127.0.0.1:5000"]["auth"]) == b"ci:pw"
    hub = json.loads(registry.docker_config("docker.io", "ci", "pw"))
    assert list(hub["auths"]) == [registry.DOCKER_HUB_AUTH_KEY]


@pytest.mark.parametrize("text", ["[]", "{", '{"r": {"username": "u"}}', '{"r": "u:p"}'])
def test_bad_credentials_files_are_refused(text):
    with pytest.raises(registry.RegistryAuthError):
        registry.parse_auth(text)


def auth_file(tmp_path, text, mode):
    path = tmp_path / "registries.json"
    path.write_text(text)
    os.chmod(path, mode)
    return Settings(docker_registry_auth_file=str(path))


def test_the_credentials_file_must_be_private_and_well_formed(tmp_path):
    good = '{"r.example": {"username": "u", "password": "S3cret"}}'
    assert hostdata.registry_auth_problems(auth_file(tmp_path, good, 0o600)) == []
    assert hostdata.registry_auth(auth_file(tmp_path, good, 0o600)) == {
        "r.example": ("u", "S3cret")
    }
    (problem,) = hostdata.registry_auth_problems(auth_file(tmp_path, good, 0o644))
    assert "mode 644, must be 0600" in problem and "S3cret" not in problem
    (problem,) = hostdata.registry_auth_problems(auth_file(tmp_path, "{", 0o600))
    assert "docker_registry_auth_file" in problem and "not JSON" in problem


def test_an_image_on_the_host_is_not_pulled():
    result = run_op(image_pulled, {"DockerImage": {"r.example/a:1": [{"Id": "x"}]}},
                    reference="r.example/a:1")  # fmt: skip
    assert result.commands == [] and result.noops == ["r.example/a:1 is on the host"]


def test_an_absent_image_is_pulled_with_a_login_used_once_and_removed():
    result = run_op(image_pulled, {"DockerImage": {"r.example/a:1": []}},
                    reference="r.example/a:1", config='{"auths": {}}')  # fmt: skip
    assert result.commands == [
        f"install -d -m 0700 {PULL_CONFIG}",
        f"upload {PULL_CONFIG}/config.json",
        f"DOCKER_CONFIG={PULL_CONFIG} docker image pull --quiet r.example/a:1 ; rc=$?;"
        f" rm -rf {PULL_CONFIG} ; exit $rc",
    ]
    assert result.uploads == {f"{PULL_CONFIG}/config.json": '{"auths": {}}'}


def test_without_a_login_the_pull_is_plain():
    result = run_op(image_pulled, {"DockerImage": {"debian:13": None}}, reference="debian:13")
    assert result.commands == ["docker image pull --quiet debian:13"]

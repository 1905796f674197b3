"""Image operations: given the host's images, these commands."""

import pytest
from pyinfra.api import FileUploadCommand, OperationError

from agenthost.images import DOCKERFILE_LABEL
from agenthost.settings import AgentImageBuild
from agenthost.tasks.docker_images import image_built, image_loaded, image_pulled
from tests.unit.harness import run_op

JENKINS = {"jenkins": {"uid": 1000, "gid": 1000, "home": "/home/jenkins", "group": "jenkins"}}
IMAGE = [{"Id": "sha256:abc", "Config": {"Labels": {}}}]


def test_loaded_images_are_not_uploaded_again():
    result = run_op(image_loaded, {"DockerImage": {"agent:1": IMAGE, "base:1": IMAGE}},
                    tarball="/local/agent.tar", references=["agent:1", "base:1"])  # fmt: skip
    assert result.commands == [] and result.noops == ["agent:1, base:1 already loaded"]


def test_a_missing_image_is_uploaded_loaded_cleaned_up_and_verified():
    result = run_op(image_loaded, {"DockerImage": {"agent:1": IMAGE, "base:1": []}},
                    tarball="/local/agent.tar", references=["agent:1", "base:1"])  # fmt: skip
    remote = "/var/lib/agenthost/images/agent.tar"
    assert result.commands == [
        "install -d -m 0700 /var/lib/agenthost/images",
        f"upload {remote}",
        f"docker image load --input {remote}",
        f"rm -f {remote}",
        "docker image inspect base:1 >/dev/null",
    ]


BUILD = AgentImageBuild(tag="agenthost/agent:1")


def built(label):
    image = [{"Id": "sha256:abc", "Config": {"Labels": {DOCKERFILE_LABEL: label}}}]
    return {"UserAccount": JENKINS, "DockerImage": {BUILD.tag: image}}


def test_an_image_built_from_the_current_dockerfile_is_kept():
    first = run_op(image_built, {"UserAccount": JENKINS, "DockerImage": {BUILD.tag: []}},
                   build=BUILD, user="jenkins")  # fmt: skip
    build_command = next(c for c in first.commands if c.startswith("docker image build"))
    digest = build_command.split(f"{DOCKERFILE_LABEL}=")[1].split()[0]
    again = run_op(image_built, built(digest), build=BUILD, user="jenkins")
    assert again.commands == [] and again.noops


def test_an_image_from_another_dockerfile_is_rebuilt_in_a_private_context_removed_after():
    result = run_op(image_built, built("old"), build=BUILD, user="jenkins")
    assert result.commands[0].startswith("install -d -m 0700 /var/lib/agenthost/build/")
    assert result.commands[-1].startswith("rm -rf /var/lib/agenthost/build/")
    (dockerfile,) = result.uploads.values()
    assert "FROM debian:trixie-slim" in dockerfile


def test_behind_a_proxy_the_build_gets_it_from_a_root_only_config_removed_after():
    config = '{"proxies": {"default": {"httpProxy": "http://ci:pw@proxy:3128"}}}'
    result = run_op(image_built, built("old"), build=BUILD, user="jenkins", proxies=config)
    *_, made, uploaded, build = result.commands
    assert made == "install -d -m 0700 /var/lib/agenthost/build-proxies"
    assert uploaded == "upload /var/lib/agenthost/build-proxies/config.json"
    assert build.startswith("DOCKER_CONFIG=/var/lib/agenthost/build-proxies docker image build")
    assert build.endswith("/var/lib/agenthost/build-proxies ; exit $rc") and "rm -rf" in build
    assert result.uploads["/var/lib/agenthost/build-proxies/config.json"] == config
    assert not any("pw@" in command for command in result.commands)  # never in a command line


def test_the_build_waits_for_the_agent_while_planning_and_fails_without_it():
    planned = run_op(image_built, {"UserAccount": {"jenkins": None}}, build=BUILD, user="jenkins")
    assert planned.commands == [f"true # {BUILD.tag} is built once jenkins exists"]
    with pytest.raises(OperationError, match="no user jenkins"):
        run_op(image_built, {"UserAccount": {"jenkins": None}}, executing=True, build=BUILD,
               user="jenkins")  # fmt: skip


def test_a_registry_login_is_staged_in_the_operations_temp_dir_under_sudo():
    result = run_op(image_pulled, {"DockerImage": {"private/app:1": []}},
                    global_arguments={"_sudo": True, "_temp_dir": "/root/private"},
                    reference="private/app:1", config='{"auths": {}}')  # fmt: skip
    [login] = [c for c in result.yielded if isinstance(c, FileUploadCommand)]
    assert login.remote_temp_filename.startswith("/root/private/")

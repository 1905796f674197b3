"""Which Docker packages a host must (not) have, per source, system and version."""

import pytest

from agenthost import engine
from agenthost.settings import Settings

BOOKWORM = engine.System("debian", "12", "bookworm")
TRIXIE = engine.System("debian", "13", "trixie")
NOBLE = engine.System("ubuntu", "24.04", "noble")
JAMMY = engine.System("ubuntu", "22.04", "jammy")


def test_debian_13_distro_has_the_split_client_compose_and_buildx_and_no_docker_ce():
    wanted = engine.engine(Settings(), TRIXIE)
    assert wanted.packages == dict.fromkeys(["docker.io", "docker-cli", "docker-compose",
                                             "docker-buildx"])  # fmt: skip
    assert "docker-ce" in wanted.absent and "containerd.io" in wanted.absent
    assert wanted.pin is None


def test_debian_12_distro_has_compose_v1_and_no_buildx():
    wanted = engine.engine(Settings(), BOOKWORM)
    assert wanted.packages == dict.fromkeys(["docker.io", "docker-compose"])


def test_a_distro_version_holds_docker_io_and_its_client_exactly():
    version = "26.1.5+dfsg1-9+deb13u1"
    wanted = engine.engine(Settings(docker_version=version), TRIXIE)
    assert wanted.packages["docker.io"] == wanted.packages["docker-cli"] == version
    assert wanted.pin == (f"Package: docker.io docker-cli\nPin: version {version}\n"
                          "Pin-Priority: 1001\n")  # fmt: skip


@pytest.mark.parametrize("system", [BOOKWORM, TRIXIE, JAMMY, NOBLE])
def test_docker_ce_holds_engine_and_cli_and_removes_every_distro_package(system):
    wanted = engine.engine(Settings(docker_source="docker-ce", docker_version="27.3.1"), system)
    assert wanted.packages == {
        "docker-ce": "5:27.3.1-*", "docker-ce-cli": "5:27.3.1-*", "containerd.io": None,
        "docker-compose-plugin": None, "docker-buildx-plugin": None,
    }  # fmt: skip
    assert set(wanted.absent) == set(engine.DISTRO_ALL)
    assert wanted.pin.startswith("Package: docker-ce docker-ce-cli\nPin: version 5:27.3.1-*\n")


def test_build_tools_not_asked_for_are_removed():
    wanted = engine.engine(Settings(docker_compose=False, docker_buildx=False), TRIXIE)
    assert list(wanted.packages) == ["docker.io", "docker-cli"]
    assert {"docker-compose", "docker-buildx"} <= set(wanted.absent)


@pytest.mark.parametrize(
    ("system", "source", "refused"),
    [
        (BOOKWORM, "distro", False), (TRIXIE, "distro", False),
        (NOBLE, "docker-ce", False), (JAMMY, "docker-ce", False),
        (NOBLE, "distro", True), (engine.System("debian", "11", "bullseye"), "docker-ce", True),
        (engine.System("rocky", "9.4", ""), "docker-ce", True),
        (engine.System("", "", ""), "distro", True),
    ],
)  # fmt: skip
def test_refusal(system, source, refused):
    reason = engine.refusal(system, source)
    assert bool(reason) == refused
    if refused:
        assert f"docker_source={source}" in reason and "debian 12" in reason


def test_os_release():
    meta = {"id": "ubuntu", "version_id": "24.04", "version_codename": "noble", "name": "Ubuntu"}
    assert engine.System.from_os_release(meta) == NOBLE


@pytest.mark.parametrize(
    ("installed", "version", "ok"),
    [
        ([], None, False), (["1"], None, True),
        (["5:27.3.1-1~debian.12~bookworm"], "5:27.3.1-*", True),
        (["5:27.3.0-1~debian.12~bookworm"], "5:27.3.1-*", False),
        (["26.1.5+dfsg1-9+deb13u1+b1"], "26.1.5+dfsg1-9+deb13u1", False),
    ],
)  # fmt: skip
def test_satisfied(installed, version, ok):
    assert engine.satisfied(installed, version) is ok


def test_agent_packages_pinned_or_not():
    settings = Settings(
        agent_packages=["git=1:2.47.3-0+deb13u1", "make"], agent_java="openjdk-17-jre"
    )
    assert settings.agent_package_versions() == {"git": "1:2.47.3-0+deb13u1", "make": None}
    assert engine.apt_pin(settings.agent_package_versions()) == (
        "Package: git\nPin: version 1:2.47.3-0+deb13u1\nPin-Priority: 1001\n"
    )
    assert engine.apt_pin({"make": None}) is None

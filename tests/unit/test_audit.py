"""docker_audit's rules from the engine's paths: pure."""

import pytest

from agenthost import audit, desired, engine
from agenthost.settings import Settings, SettingsError, validate

BOOKWORM = engine.System("debian", "12", "bookworm")
TRIXIE = engine.System("debian", "13", "trixie")


def paths(source: str, version: str) -> dict[str, str]:
    return {w.cis: w.path for w in audit.watches(source, version)}


def test_every_cis_1_1_3_to_1_1_18_but_red_hats_sysconfig():
    found = paths("distro", "12")
    assert list(found) == [f"1.1.{n}" for n in range(3, 19) if n != 13]


def test_debian_and_docker_put_dockerd_and_runc_in_different_places():
    distro, ce = paths("distro", "12"), paths("docker-ce", "12")
    assert distro["1.1.3"] == "/usr/sbin/dockerd" and ce["1.1.3"] == "/usr/bin/dockerd"
    assert distro["1.1.18"] == "/usr/sbin/runc" and ce["1.1.18"] == "/usr/bin/runc"


def test_debian_13_units_are_under_usr_lib():
    assert paths("distro", "12")["1.1.7"] == "/lib/systemd/system/docker.service"
    assert paths("distro", "13")["1.1.9"] == "/usr/lib/systemd/system/docker.socket"


def test_no_data_dirs_leaves_out_the_storage_watches_only():
    every = audit.selected("all", "distro", "13")
    quiet = audit.selected("no-data-dirs", "distro", "13")
    assert {w.path for w in every} - {w.path for w in quiet} == set(audit.DATA_DIRS)
    assert "/run/containerd/containerd.sock" in {w.path for w in quiet}  # 1.1.8 is a file
    assert audit.selected(False, "distro", "13") == []


def test_rules_are_written_as_auditctl_lists_them_with_our_key():
    content = audit.rules_file("all", "distro", "12")
    assert "-w /usr/sbin/dockerd -p rwxa -k agenthost-docker\n" in content
    rules = [line for line in content.splitlines() if line.startswith("-")]
    assert rules == audit.wanted_rules("all", "distro", "12")
    assert audit.rules_file(False, "distro", "12") is None


def test_loaded_keeps_only_our_rules():
    listed = ["-w /etc/passwd -p wa -k identity", "-w /etc/docker -p rwxa -k agenthost-docker"]
    assert audit.loaded(listed) == ["-w /etc/docker -p rwxa -k agenthost-docker"]
    assert audit.loaded(["No rules"]) == []


def test_a_container_host_is_refused_naming_the_setting():
    message = audit.refusal("agenthost-bookworm-1", "container:docker")
    assert "docker_audit" in message and "container (docker)" in message
    assert "docker_audit: false" in message
    assert "no audit support" in audit.refusal("h", "none")
    assert audit.refusal("h", "own") is None


def test_the_rules_file_is_part_of_the_desired_state():
    account = desired.Account("/home/jenkins", "jenkins")
    on = {f.path: f for f in desired.files(Settings(), account, TRIXIE)}
    assert on[audit.RULES_FILE].content and on[audit.RULES_FILE].mode == "640"
    off = {f.path: f for f in desired.files(Settings(docker_audit=False), account, TRIXIE)}
    assert off[audit.RULES_FILE].content is None  # removed when turned off
    assert "auditd" in desired.packages(Settings(), BOOKWORM)
    assert "auditd" not in desired.packages(Settings(docker_audit=False), BOOKWORM)
    assert "auditd.service" in desired.units(Settings())


def test_default_leaves_out_the_data_dirs():
    assert Settings().docker_audit == "no-data-dirs"


def test_an_unknown_mode_is_a_settings_error():
    with pytest.raises(SettingsError, match="docker_audit"):
        validate("h", {"docker_audit": "some"})


def test_run_containerd_is_made_at_boot_before_the_rules_load():
    account = desired.Account("/home/jenkins", "jenkins")
    on = {f.path: f for f in desired.files(Settings(), account, BOOKWORM)}
    assert on[audit.TMPFILES].content == "d /run/containerd 0711 root root -\n"
    off = {f.path: f for f in desired.files(Settings(docker_audit=False), account, BOOKWORM)}
    assert off[audit.TMPFILES].content is None

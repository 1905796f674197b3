"""The package operation: given dpkg's list, these apt commands; lists updated only to install."""

import subprocess
from pathlib import Path

from agenthost import engine
from agenthost.operations.apt import (
    HOLD_DOCKER,
    _available,
    apt,
    apt_ready,
    packages_installed,
    reinstall_previous,
    versions_available,
)
from agenthost.templating import render
from tests.unit.harness import on_host, run_op, stamped

V13 = "26.1.5+dfsg1-9+deb13u1"
APT, READY = apt(600), apt_ready(600)


def dpkg(installed: dict, packages: dict, absent: tuple = ()) -> dict:
    """The facts `packages_installed` reads: the installed versions of these packages only."""
    return {"PackageVersions": {tuple(sorted({*packages, *absent})): installed}}


def test_packages_as_asked_are_a_noop_without_an_apt_update():
    installed = {"docker.io": [V13], "git": ["1:2.47"]}
    packages, absent = {"docker.io": V13, "git": None}, ["docker-ce"]
    result = run_op(packages_installed, dpkg(installed, packages, absent),
                    lock_timeout=600, packages=packages, absent=absent)  # fmt: skip
    assert result.commands == [] and result.noops == ["docker.io, git installed as asked"]


def test_another_exact_version_is_installed_and_checked():
    packages = {"docker.io": V13}
    result = run_op(packages_installed, dpkg({"docker.io": [f"{V13}+b1"]}, packages),
                    lock_timeout=600, packages=packages, hold_docker=True)  # fmt: skip
    assert result.commands[:3] == [
        READY,
        f"{APT} update",
        f"{HOLD_DOCKER}; {APT} install docker.io={V13}",
    ]
    assert f'case "$v" in {V13}) ;;' in result.commands[3]


def test_a_source_switch_is_one_transaction():
    packages, absent = {"docker-ce": None}, ["docker.io", "docker-cli"]
    result = run_op(packages_installed, dpkg({"docker.io": ["20.10"]}, packages, absent),
                    lock_timeout=600, packages=packages, absent=absent)  # fmt: skip
    assert result.commands == [READY, f"{APT} update", f"{APT} install docker-ce docker.io-"]


def test_only_removals_need_no_lists():
    installed = {"docker.io": ["1"], "docker-buildx": ["1"]}
    packages, absent = {"docker.io": None}, ["docker-buildx"]
    result = run_op(packages_installed, dpkg(installed, packages, absent),
                    lock_timeout=600, packages=packages, absent=absent)  # fmt: skip
    assert result.commands == [READY, f"{APT} remove docker-buildx"]


def test_a_glob_version_is_reached_through_its_pin():
    packages = {"docker-ce": "5:27.3.1-*", "containerd.io": None}
    result = run_op(packages_installed, dpkg({}, packages), lock_timeout=600, packages=packages)
    assert result.commands[2] == f"{APT} install docker-ce containerd.io"
    assert 'case "$v" in 5:27.3.1-*) ;;' in result.commands[3]


def test_a_rollback_puts_back_the_versions_the_step_changes():
    installed = {"docker.io": {f"{V13}+b1"}, "docker-cli": {f"{V13}+b1"}, "git": {"1"}}
    wanted = {"docker.io": V13, "docker-cli": V13, "git": None, "docker-buildx": None}
    assert reinstall_previous(wanted, installed, 600) == (
        f"( {HOLD_DOCKER}; {APT} install docker.io={V13}+b1 docker-cli={V13}+b1 )"
    )
    assert reinstall_previous({"docker.io": None}, installed, 600) is None


def test_the_restart_script_undoes_packages_after_the_files(tmp_path):
    script = render(
        "docker-apply.sh.j2", checksum="true", paths=["/etc/docker/daemon.json"],
        undo=["UNDO-ENGINE"], record="/r", log="/l", backups="/b", stamp="S",
        daemon_json="/etc/docker/daemon.json", timeout=30, agent_label="agenthost.agent",
    )  # fmt: skip
    assert (
        script.index('put "$kept" /etc/docker/daemon.json')
        < script.index("UNDO-ENGINE")
        < script.rindex("if restart; then")
    )
    assert "previous files and packages are restored" in script
    (tmp_path / "apply.sh").write_text(script)
    assert subprocess.run(["sh", "-n", str(tmp_path / "apply.sh")]).returncode == 0


def test_a_version_to_move_to_is_checked_in_apts_sources_first():
    """Before its pin is written: a docker_version apt does not have stops the deploy there."""
    packages, absent = {"docker-ce": "5:99.0-*", "containerd.io": None}, ["docker.io"]
    facts = dpkg({"docker-ce": ["5:27.3.1-1"]}, packages, absent)
    result = run_op(versions_available, facts, lock_timeout=600, packages=packages, absent=absent,
                    setting="docker_version", value="99.0")  # fmt: skip
    assert result.commands[:2] == [READY, f"{APT} update"]
    assert len(result.commands) == 3, "one check per versioned package"
    check = result.commands[2]
    assert "apt-cache madison docker-ce" in check and 'case "$v" in 5:99.0-*) exit 0' in check
    assert "docker_version = '99.0': apt has no docker-ce 5:99.0-*" in check


def test_the_check_runs_the_real_shell(tmp_path):
    madison = tmp_path / "apt-cache"
    madison.write_text("#!/bin/sh\necho ' docker.io | 20.10.24+dfsg1-1+deb12u1 | http://deb x'\n")
    madison.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    for version, code in (("20.10.24+dfsg1-1+deb12u1", 0), ("99.0", 1)):
        shell = _available("docker.io", version, "docker_version", version)
        done = subprocess.run(["sh", "-c", shell], env=env, capture_output=True, text=True)
        assert done.returncode == code, done.stderr
    assert "its sources have: 20.10.24+dfsg1-1+deb12u1); nothing was pinned" in done.stderr


def test_a_version_already_installed_needs_no_lists():
    packages = {"docker.io": V13}
    result = run_op(versions_available, dpkg({"docker.io": [V13]}, packages, []),
                    lock_timeout=600, packages=packages, absent=[], setting="docker_version",
                    value=V13)  # fmt: skip
    assert result.commands == []


def test_an_install_that_fails_takes_the_pin_back_and_names_the_setting(tmp_path):
    from agenthost.tasks.docker_engine import pin_taken_back

    packages = {"docker.io": "99.0"}
    with on_host():
        undo = pin_taken_back("99.0")
    result = run_op(packages_installed, dpkg({}, packages), lock_timeout=600, packages=packages,
                    hold_docker=True, on_failure=undo)  # fmt: skip
    assert result.commands[2].endswith(f" || {{ {undo}; exit 1; }}")
    assert pin_taken_back(None) is None
    assert stamped("/etc/apt/preferences.d/agenthost-docker") in undo
    assert "docker_version = '99.0': apt could not install it" in undo


def test_the_pin_is_taken_back_only_when_this_run_wrote_it(tmp_path):
    """The shell itself, with the pin and this run's backups under tmp_path."""
    from agenthost.tasks.docker_engine import pin_taken_back

    pin, saved = tmp_path / "pin", tmp_path / "backups" / "stamp" / "pin"
    with on_host():
        shell = pin_taken_back("99.0").replace(stamped(engine.PIN), str(saved))
    shell = shell.replace(engine.PIN, str(pin))
    saved.parent.mkdir(parents=True)

    def after(before: str | None, marker: str | None) -> str | None:
        pin.unlink(missing_ok=True)
        for path in saved.parent.iterdir():
            path.unlink()
        pin.write_text("99.0 pin")
        if marker == "absent":
            Path(f"{saved}.absent").touch()
        elif marker:
            saved.write_text(before)
        done = subprocess.run(["sh", "-c", shell], capture_output=True, text=True)
        assert "docker_version = '99.0': apt could not install it" in done.stderr
        return pin.read_text() if pin.exists() else None

    assert after(None, "absent") is None, "a pin this run created is removed"
    assert after("27.3 pin", "backup") == "27.3 pin", "the pin before this run is put back"
    assert after(None, None) == "99.0 pin", "a pin this run did not write stays"

"""The file operations every concern uses: given these facts, these commands."""

import hashlib
import json

import pytest
from pyinfra.api import FileUploadCommand, OperationError

from agenthost import run
from agenthost.operations import accounts, backups, files, writes
from agenthost.paths import BACKUP_DIR
from tests.unit.harness import STAMP, on_host, run_op, stamped

PATH = "/etc/docker/daemon.json"
STAMPED = stamped(PATH)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stat(mode=644, user="root", group="root"):
    return {"mode": mode, "user": user, "group": group}


def facts(file=None, content=None):
    state = file and {**file, "sha256": sha(content) if content else sha("")}
    return {"ManagedFileState": {PATH: state}}


def test_a_file_as_desired_is_a_noop():
    result = run_op(files.managed_file, facts(stat(), "{}\n"), path=PATH, content="{}\n")
    assert result.commands == [] and result.noops == [f"{PATH} is up to date"]


TEMP = writes.temp_path(PATH)


def test_a_new_file_arrives_root_only_beside_its_path_then_is_renamed_and_marked_absent_before():
    result = run_op(files.managed_file, facts(), path=PATH, content="{}\n")
    assert result.commands == [
        f"install -d -m 0700 {BACKUP_DIR}",
        backups.backup_dirs(STAMPED.rsplit("/", 1)[0]),
        f"touch {STAMPED}.absent",
        backups.prune_backups(PATH),
        f"grep -qxF {PATH} {backups.CREATED} 2>/dev/null || ls -d {BACKUP_DIR}/*{PATH} >/dev/null"
        f" 2>&1 || echo {PATH} >> {backups.CREATED}",
        "mkdir -p /etc/docker",
        f"install -m 0600 /dev/null {TEMP}",
        f"upload {TEMP}",
        f"chown root:root {TEMP}",
        f"chmod 644 {TEMP}",
        f"mv -f {TEMP} {PATH}",
    ]
    assert result.uploads == {TEMP: "{}\n"}
    assert TEMP.startswith("/etc/docker/.daemon.json.agenthost-") and run.RUN_ID in TEMP


def test_a_different_file_is_backed_up_first():
    result = run_op(files.managed_file, facts(stat(), "hand written\n"), path=PATH, content="{}\n")
    assert result.commands[:3] == [
        f"install -d -m 0700 {BACKUP_DIR}",
        backups.backup_dirs(STAMPED.rsplit("/", 1)[0]),
        writes.copied(PATH, STAMPED),
    ]
    assert result.commands[-1] == f"mv -f {TEMP} {PATH}"


def test_only_a_wrong_mode_is_fixed_without_a_backup():
    result = run_op(files.managed_file, facts(stat(mode=666), "{}\n"), path=PATH, content="{}\n")
    assert not any(c.startswith("cp ") for c in result.commands)
    assert result.commands[-1].endswith(f"&& chmod 644 {PATH}")


def test_a_secret_is_root_only_before_its_content_arrives_even_when_it_exists():
    result = run_op(files.managed_file, facts(stat(mode=600), "old\n"), path=PATH,
                    content="new\n", mode="600", secret=True)  # fmt: skip
    assert result.commands.index(f"install -m 0600 /dev/null {TEMP}") < result.commands.index(
        f"upload {TEMP}"
    )


def test_an_absent_file_is_a_noop_and_a_present_one_is_backed_up_then_removed():
    assert run_op(files.managed_file_absent, {"File": {PATH: None}}, path=PATH).noops == [
        f"{PATH} does not exist"
    ]
    result = run_op(files.managed_file_absent, {"File": {PATH: stat()}}, path=PATH)
    assert result.commands[-3:] == [
        writes.copied(PATH, STAMPED), backups.prune_backups(PATH), f"rm -f {PATH}"
    ]  # fmt: skip


JENKINS = {"jenkins": {"uid": 1500, "gid": 1600, "home": "/home/jenkins", "group": "jenkins"}}


def test_subid_lines_map_container_root_to_the_agent_and_keep_other_users():
    text = ["alice:100000:65536"]
    result = run_op(
        accounts.subid_file,
        {"UserAccount": JENKINS, "FileContents": {"/etc/subuid": text},
         "ManagedFileState": {"/etc/subuid": {**stat(), "sha256": sha("x")}}},
        path="/etc/subuid", user="jenkins", count=65536,
    )  # fmt: skip
    temp = writes.temp_path("/etc/subuid")
    assert result.uploads == {temp: "alice:100000:65536\njenkins:1500:1\njenkins:165536:65536\n"}
    # Renamed under shadow's lock, and only if nobody changed the file since it was read.
    replace = result.commands[-1]
    assert "ln /etc/.subuid.agenthost-" in replace and " /etc/subuid.lock" in replace
    assert f"{sha('x')}' '/etc/subuid | sha256sum --check --status" in replace
    assert f"mv -f {temp} /etc/subuid" in replace


@pytest.mark.parametrize("path", ["/etc/subuid", "/etc/subgid"])
def test_subid_lines_in_place_with_a_user_added_after_them_are_a_noop(path):
    """useradd after a converge appends carol's range: the file is not written again."""
    own = 1500 if path.endswith("uid") else 1600  # JENKINS's uid, gid
    text = f"alice:100000:65536\njenkins:{own}:1\njenkins:165536:65536\ncarol:231072:65536\n"
    result = run_op(
        accounts.subid_file,
        {"UserAccount": JENKINS, "FileContents": {path: text.splitlines()},
         "ManagedFileState": {path: {**stat(), "sha256": sha(text)}}},
        path=path, user="jenkins", count=65536,
    )  # fmt: skip
    assert result.commands == [] and result.noops == [f"{path} is up to date"]


def test_subid_lines_wait_for_the_user_while_planning_and_fail_if_it_never_came():
    facts_ = {"UserAccount": {"jenkins": None}}
    planned = run_op(accounts.subid_file, facts_, path="/etc/subgid", user="jenkins", count=65536)
    assert planned.commands == ["true # /etc/subgid is written once jenkins exists"]
    with pytest.raises(OperationError, match="jenkins does not exist"):
        run_op(accounts.subid_file, facts_, executing=True, path="/etc/subgid", user="jenkins",
               count=65536)  # fmt: skip


def test_diff_shows_what_changes_but_never_a_secret(caplog):
    caplog.set_level("INFO")
    given = {**facts(stat(), "a\nb\n"), "FileContents": {PATH: ["a", "b"]}}
    result = run_op(files.managed_file, given, diff=True, path=PATH, content="a\nc\n")
    assert result.host.logs == [f"Will modify {PATH}"]
    shown = caplog.text
    assert "b" in shown and "c" in shown
    caplog.clear()
    result = run_op(files.managed_file, given, diff=True, path=PATH, content="t0ken\n",
                    secret=True)  # fmt: skip
    assert "t0ken" not in caplog.text and "secret: content not shown" in caplog.text


def test_daemon_json_is_validated_by_dockerd_as_a_candidate_before_it_replaces_the_file():
    from agenthost.tasks.docker_daemon import validated_daemon_json

    candidate = writes.temp_path(f"{PATH}.candidate")
    result = run_op(validated_daemon_json, facts(stat(), '{"icc": true}\n'), content="{}\n")
    _, upload, validate, remove = result.commands[:4]
    assert upload == f"upload {candidate}"
    assert f"dockerd --validate --config-file {candidate} || {{ rm -f {candidate}; exit 1; }}" in (
        validate
    )
    assert remove == f"rm -f {candidate}"
    assert result.commands[4:7] == [
        f"install -d -m 0700 {BACKUP_DIR}",
        backups.backup_dirs(STAMPED.rsplit("/", 1)[0]),
        writes.copied(PATH, STAMPED),
    ]
    assert run_op(validated_daemon_json, facts(stat(), "{}\n"), content="{}\n").commands == []


def test_the_daemon_json_candidate_is_staged_in_the_operations_temp_dir_under_sudo():
    from agenthost.tasks.docker_daemon import validated_daemon_json

    result = run_op(validated_daemon_json, facts(stat(), '{"icc": true}\n'), content="{}\n",
                    global_arguments={"_sudo": True, "_temp_dir": "/root/private"})  # fmt: skip
    uploads = [c for c in result.yielded if isinstance(c, FileUploadCommand)]
    assert uploads and all(c.remote_temp_filename.startswith("/root/private/") for c in uploads)


def test_agent_containers_no_longer_listed_are_removed_with_their_secrets():
    from agenthost.tasks.agent_containers import agent_containers_only

    given = {"AgentContainers": {"ci-1": "running", "old": "exited"}}
    result = run_op(agent_containers_only, given, names=["ci-1"])
    assert result.commands == [
        "docker container stop old",
        "docker container rm old",
        "rm -f /etc/agenthost/old.env /var/lib/agenthost/agent-secrets/old.jenkins-secret",
    ]
    assert run_op(agent_containers_only, given, names=["ci-1", "old"]).noops


def test_apt_waits_for_dpkgs_lock_a_bounded_time():
    from agenthost.operations.apt import apt

    assert "DPkg::Lock::Timeout=300" in apt(300)


def test_the_agents_docker_config_keeps_its_logins_and_gets_only_our_keys():
    path = "/home/jenkins/.docker/config.json"
    login = '{"auths": {"registry.example": {"auth": "dXNlcjpwdw=="}}, "proxies": {"old": 1}}'
    mine = stat(600, "jenkins")
    given = {"FileContents": {path: login.splitlines()},
             "ManagedFileState": {path: {**mine, "sha256": sha(login)}}}  # fmt: skip
    proxies = {"default": {"httpProxy": "http://proxy.example:3128"}}
    result = run_op(files.json_keys, given, path=path, keys={"proxies": proxies}, user="jenkins")
    (written,) = result.uploads.values()
    assert json.loads(written) == {"auths": {"registry.example": {"auth": "dXNlcjpwdw=="}},
                                   "proxies": proxies}  # fmt: skip
    same = {"FileContents": {path: written.splitlines()},
            "ManagedFileState": {path: {**mine, "sha256": sha(written)}}}  # fmt: skip
    assert run_op(files.json_keys, same, path=path, keys={"proxies": proxies}, user="jenkins").noops


def test_backups_are_pruned_to_the_first_and_the_newest_few_per_file(tmp_path):
    import subprocess

    for day in range(1, 15):
        stamp = tmp_path / f"202611{day:02d}T000000Z"
        (stamp / "etc/docker").mkdir(parents=True)
        (stamp / "etc/docker/daemon.json").write_text("{}")
        (stamp / "etc/subuid").write_text("x")
    subprocess.run(["sh", "-c", backups.prune_backups(PATH, str(tmp_path))], check=True)
    kept = sorted(p.parents[2].name for p in tmp_path.glob("*/etc/docker/daemon.json"))
    # The first is the host's own version: retiring the host restores it.
    assert kept == [f"202611{day:02d}T000000Z" for day in (1, *range(5, 15))]
    assert len(list(tmp_path.glob("*/etc/subuid"))) == 14  # another file's backups stay


def test_backup_folders_are_root_only_and_earlier_0755_ones_become_so(tmp_path):
    import subprocess

    old = tmp_path / "20261101T000000Z/etc"
    old.mkdir(parents=True, mode=0o755)
    new = tmp_path / "20261206T000000Z/etc/docker"
    subprocess.run(["sh", "-c", backups.backup_dirs(str(new), str(tmp_path))], check=True)
    folders = [p for p in tmp_path.rglob("*") if p.is_dir()]
    assert len(folders) == 5 and {oct(p.stat().st_mode & 0o777) for p in folders} == {"0o700"}


def test_a_replaced_secret_is_not_copied_and_its_earlier_copies_go_but_the_hosts_own(tmp_path):
    import subprocess

    secret = "/etc/docker/proxy.env"
    result = run_op(files.managed_file, {"ManagedFileState": {secret: {**stat(600), "sha256": "x"}},
                                       "FileContents": {}},
                    path=secret, content="new\n", mode="600", secret=True)  # fmt: skip
    with on_host():
        assert backups.secret_backup(secret) in result.commands
    assert not any(c.startswith("cp -p") for c in result.commands)
    assert any("holds credentials" in line for line in result.host.logs)
    for day, text in (("01", "host's own"), ("02", "old password"), ("03", "older password")):
        copy = tmp_path / f"202611{day}T000000Z{secret}"
        copy.parent.mkdir(parents=True)
        copy.write_text(text)
    with on_host():
        subprocess.run(["sh", "-c", backups.secret_backup(secret, str(tmp_path))], check=True)
    assert [p.read_text() for p in tmp_path.glob(f"*{secret}")] == ["host's own"]


def test_a_secret_of_the_hosts_own_is_backed_up_once(tmp_path):
    import subprocess

    (tmp_path / "etc").mkdir()
    own = tmp_path / "etc/proxy.env"
    own.write_text("host's own")
    kept = tmp_path / "backups"
    (kept / f"{STAMP}{own.parent}").mkdir(parents=True)
    with on_host():
        subprocess.run(["sh", "-c", backups.secret_backup(str(own), str(kept))], check=True)
    assert (kept / f"{STAMP}{own}").read_text() == "host's own"
    (kept / "created").write_text(f"{own}\n")  # one agenthost created: never copied
    (kept / f"{STAMP}{own}").unlink()
    with on_host():
        subprocess.run(["sh", "-c", backups.secret_backup(str(own), str(kept))], check=True)
    assert not (kept / f"{STAMP}{own}").exists()


def test_a_file_deleted_by_hand_after_its_backup_is_not_listed_as_created(tmp_path):
    """Retiring restores the host's own copy of it then, instead of deleting what agenthost
    wrote there since."""
    import subprocess

    result = run_op(files.managed_file, facts(), path=PATH, content="{}\n")
    listing = result.commands[4].replace(BACKUP_DIR, str(tmp_path))
    (tmp_path / f"20261101T000000Z{PATH}").parent.mkdir(parents=True)
    (tmp_path / f"20261101T000000Z{PATH}").write_text("host's own\n")
    subprocess.run(["sh", "-c", listing], check=True)
    assert not (tmp_path / "created").exists()
    (tmp_path / f"20261101T000000Z{PATH}").unlink()
    subprocess.run(["sh", "-c", listing], check=True)
    subprocess.run(["sh", "-c", listing], check=True)
    assert (tmp_path / "created").read_text() == f"{PATH}\n"

"""What differs, as operations say it: both sides of each drifted item, never a secret."""

import hashlib
import subprocess
import xml.etree.ElementTree as ET

from agenthost import drift, explain, report
from agenthost.explain import Difference
from agenthost.operations import accounts, files
from agenthost.operations.accounts import group_members_exactly
from agenthost.operations.apt import packages_installed
from agenthost.operations.systemd import unit_running
from tests.unit.harness import run_op

PATH = "/etc/docker/daemon.json"
SECRET = "s3cr3t-t0ken"


def state(content: str, mode=644, user="root", group="root"):
    sha = hashlib.sha256(content.encode()).hexdigest()
    return {"ManagedFileState": {PATH: {"mode": mode, "user": user, "group": group,
                                        "sha256": sha}}}  # fmt: skip


def test_a_file_s_mode_and_owner_read_as_an_operator_writes_them():
    result = run_op(files.managed_file, state("{}\n", 644), path=PATH, content="{}\n", mode="600")
    assert result.differences == [Difference(f"{PATH} mode and owner", "0600 root:root",
                                             "0644 root:root")]  # fmt: skip
    assert result.differences[0].said().endswith("0644 root:root, wants 0600 root:root")


def test_a_file_s_content_asks_for_a_diff_and_a_missing_file_is_absent():
    result = run_op(files.managed_file, state("old\n"), path=PATH, content="new\n")
    (content,) = result.differences
    assert (content.path, content.content, content.actual) == (PATH, "new\n",
                                                               "differs (diff below)")  # fmt: skip
    missing = run_op(files.managed_file, {"ManagedFileState": {PATH: None}}, path=PATH, content="x")
    assert missing.differences == [Difference(PATH, "present, 0644 root:root", "absent")]


def test_a_secret_file_only_differs_and_nothing_of_either_side_is_kept():
    result = run_op(files.managed_file, state(f"TOKEN={SECRET}-old\n"), path=PATH,
                    content=f"TOKEN={SECRET}\n", secret=True)  # fmt: skip
    assert result.differences == [Difference(f"{PATH} content", explain.SECRET_EXPECTED,
                                             "content differs")]  # fmt: skip
    assert SECRET not in repr(result.differences)


def test_a_diff_masks_credentials_alike_on_both_sides_and_is_bounded():
    host_side = '{"proxy": "http://bob:old@proxy:3128", "debug": true}\n'
    wanted = '{"proxy": "http://bob:new@proxy:3128", "debug": false}\n'
    diff = explain.content_diff(PATH, host_side, wanted)
    assert "old" not in diff and "new" not in diff and "***@proxy" in diff
    assert '-{"proxy": "http://***@proxy:3128", "debug": true}' in diff
    assert '+{"proxy": "http://***@proxy:3128", "debug": false}' in diff
    long = explain.content_diff(PATH, "", "".join(f"{i}\n" for i in range(200)))
    assert len(long.splitlines()) == explain.DIFF_LINES + 1 and "more lines" in long


def test_the_docker_group_says_the_members_it_has_that_are_not_named_and_those_missing():
    facts = {"GroupMembers": {"docker": ["bob", "jenkins"]}, "PrimaryGroupUsers": {"docker": []},
             "UserAccount": {name: {"uid": 1} for name in ("jenkins", "alice", "bob")}}
    result = run_op(group_members_exactly, facts, group="docker", users=["jenkins", "alice"])
    (found,) = result.differences
    assert found.expected == "exactly jenkins, alice"
    assert found.actual == "bob, jenkins (extra: bob; missing: alice)"


def test_subid_lines_missing_and_in_the_way_and_no_content_diff():
    text = ["jenkins:0:65536"]
    result = run_op(accounts.subid_file, {
        "UserAccount": {"jenkins": {"uid": 1500, "gid": 1500}},
        "FileContents": {"/etc/subuid": text},
        "ManagedFileState": {"/etc/subuid": {"mode": 644, "user": "root", "group": "root",
                                             "sha256": "x"}},
    }, path="/etc/subuid", user="jenkins", count=65536)  # fmt: skip
    (found,) = result.differences
    assert found.what == "/etc/subuid lines"
    assert found.actual == ("missing: jenkins:1500:1, jenkins:100000:65536;"
                            " in the way: jenkins:0:65536")  # fmt: skip


def test_units_and_packages_say_their_state():
    unit = run_op(unit_running, {"UnitState": {"docker.service": {"active": False,
                                                                  "enabled": True}}},
                  unit="docker.service")  # fmt: skip
    assert unit.differences == [Difference("docker.service", "active, enabled",
                                           "inactive, enabled")]  # fmt: skip
    apt = run_op(packages_installed, {"PackageVersions": {("docker.io", "podman"): {
        "docker.io": ["20.10.24"], "podman": ["4.3"]}}},
        packages={"docker.io": "26.*"}, absent=["podman"], lock_timeout=600)  # fmt: skip
    assert apt.differences == [Difference("package docker.io", "26.*", "20.10.24"),
                               Difference("package podman", "absent", "4.3")]  # fmt: skip


def test_a_clean_operation_says_nothing():
    assert run_op(files.managed_file, state("x\n"), path=PATH, content="x\n").differences == []


def test_file_contents_come_back_by_path_from_one_shell_command(tmp_path):
    (tmp_path / "a b").write_text("one\ntwo\n")
    paths = [str(tmp_path / "a b"), str(tmp_path / "missing")]
    sections = explain.pending_reads([Difference("f", "x", "y", path=p) for p in paths])
    command = explain.read_command(sections, "--mark--")
    output = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout
    assert explain.split_contents(output, "--mark--") == {paths[0]: "one\ntwo\n", paths[1]: ""}


class Host:
    name = "agent-01"

    def __init__(self, contents):
        self.contents, self.reads = contents, []

    def get_fact(self, fact, command):
        self.reads.append(command)
        mark = command.split(" ")[1].strip("'")
        return "\n".join(f"{mark} {p}\n{text}".rstrip("\n") for p, text in self.contents.items())


def test_a_drifted_host_costs_one_read_for_every_diff_and_a_clean_one_none():
    pending = [Difference(f"{p} content", "x", "y", path=p, content="new\n") for p in ("/a", "/b")]
    planned = [("files", True, pending), ("unit", True, [Difference("u", "a", "b")])]
    host = Host({"/a": "old\n", "/b": "new\n"})
    done = drift.with_contents(host, planned)
    assert len(host.reads) == 1
    diffs = [d.diff for d in done[0][2]]
    assert "-old\n+new\n" in diffs[0] and diffs[1] == ""
    clean = Host({})
    assert drift.with_contents(clean, [("unit", False, [])]) and clean.reads == []


def test_each_report_shows_both_sides_and_the_diff():
    diff = explain.content_diff(PATH, "a\n", "b\n")
    item = report.item("daemon.json", True, [
        Difference(f"{PATH} mode and owner", "0600 root:root", "0644 root:root"),
        Difference(f"{PATH} content", "as the deploy writes it", "differs", diff=diff),
    ])  # fmt: skip
    host = report.HostReport("agent-01", (item,))
    table = report.table([host])
    assert f"      {PATH} mode and owner: 0644 root:root, wants 0600 root:root\n" in table
    assert "        +b\n" in table and "  daemon.json\n" in table
    failure = ET.fromstring(report.junit([host]).split("\n", 1)[1]).find(".//failure")
    assert failure.get("message").startswith(f"{PATH} mode and owner: 0644 root:root, wants"
                                              " 0600 root:root; ")  # fmt: skip
    assert "+b" in failure.text
    assert '"diff": "--- ' in report.to_json([host]) and "0644 root:root" in report.to_json([host])
    assert drift.host_report({"host": "h", "not_checked": [], "operations": [
        ["daemon.json", True, [d.public() for d in item.differences]]]}).items == (item,)


def test_an_agent_container_says_which_parts_differ_and_never_an_environment_value():
    from agenthost.agent_container import HostIds, parts, run_args
    from agenthost.settings import AgentContainer

    def spec_parts(image_id, env_sha, **changes):
        spec = AgentContainer(name="agent", image="agent:1", memory="256m", **changes)
        args = run_args(spec, HostIds(1001, 1001), "/ws", "root", "/etc/a.env", "/run/a.sock")
        return parts(args, image_id, env_sha)

    before = spec_parts("sha256:old", "aaaa", environment={"MODE": "blue-value"})
    after = spec_parts("sha256:new", "bbbb", environment={"MODE": "x", "EXTRA": "v"},
                       volumes=["/cache:/cache"])  # fmt: skip
    assert "blue-value" not in repr(before) and "MODE" in before["environment names"]
    assert before["limits"] == ["--memory 256m", "--cpus 2.0"] and "/ws:/ws" in before["mounts"]
    current = {"spec": "old", "parts": before, "memory": 2**28, "nano_cpus": 0}
    found = {d.what: d for d in explain.container("agent", after, current, False, False)}
    assert set(found) == {"container agent image", "container agent environment names",
                          "container agent mounts", "container agent env file content"}
    assert found["container agent environment names"].expected == "EXTRA, MODE"
    assert found["container agent env file content"].actual == "content differs"
    assert "aaaa" not in repr(found) and "bbbb" not in repr(found)
    live = explain.container("agent", before, {**current, "memory": 2**29}, True, True)
    assert live == [Difference("container agent limits", "--memory 256m, --cpus 2.0",
                               "--memory 536870912 (bytes), --cpus 0 (live)")]  # fmt: skip
    assert explain.container("agent", before, None, False, False)[0].actual == "absent"
    old = explain.container("agent", before, {**current, "parts": None}, False, False)
    assert "did not record its parts" in old[0].actual


def test_pyinfra_diff_says_the_same_differences():
    facts = {"GroupMembers": {"docker": ["bob"]}, "UserAccount": {"bob": {"uid": 1}},
             "PrimaryGroupUsers": {"docker": []}}
    result = run_op(group_members_exactly, facts, diff=True, group="docker", users=[])
    assert result.host.logs == ["docker group members: bob (extra: bob; missing: none), wants"
                                " exactly none"]  # fmt: skip
    quiet = run_op(group_members_exactly, facts, group="docker", users=[])
    assert quiet.host.logs == [] and quiet.differences


def test_directories_groups_and_extra_agent_containers_say_what_differs():
    from agenthost.operations.accounts import group_present
    from agenthost.operations.files import directory
    from agenthost.tasks.agent_containers import agent_containers_only

    found = {"Directory": {"/ws": {"mode": 755, "user": "root", "group": "root"}}}
    result = run_op(directory, found, path="/ws", user="jenkins", group="jenkins", mode="750")
    assert result.differences == [Difference("/ws", "directory 0750 jenkins:jenkins",
                                             "directory 0755 root:root")]  # fmt: skip
    group = run_op(group_present, {"GroupMembers": {"docker": None}}, group="docker")
    assert group.differences == [Difference("group docker", "present", "absent")]
    extra = run_op(agent_containers_only, {"AgentContainers": {"agent": "running",
                                                               "old": "exited"}},
                   names=["agent"])  # fmt: skip
    assert extra.differences == [Difference("agent containers", "only agent", "also old")]

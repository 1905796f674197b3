"""agenthost.policy.rules: what an agent may ask Docker, request by request."""

from __future__ import annotations

import json

import pytest

from agenthost.policy.rules import Policy, Refused, parse_json, route

WORKSPACE = "/srv/agent-ws"
SOCKET = "/run/agenthost-docker/container-ci.sock"


def policy(**allow) -> Policy:
    return Policy({"socket": SOCKET, "setting": "docker_policy", "binds": [WORKSPACE],
                   "allow": allow})  # fmt: skip


def create(host_config: dict, raw: str | None = None) -> list[str]:
    body = parse_json((raw or json.dumps({"Image": "i", "HostConfig": host_config})).encode())
    return policy().request("POST", "/containers/create", {}, body)


ESCAPES = {
    "privileged": {"Privileged": True},
    "userns host": {"UsernsMode": "host"},
    "pid host": {"PidMode": "host"},
    "ipc host": {"IpcMode": "host"},
    "uts host": {"UTSMode": "host"},
    "cgroupns host": {"CgroupnsMode": "host"},
    "cap-add": {"CapAdd": ["SYS_ADMIN"]},
    "cap-add ALL": {"CapAdd": ["ALL"]},
    "device": {"Devices": [{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda"}]},
    "gpus": {"DeviceRequests": [{"Count": -1}]},
    "device cgroup rule": {"DeviceCgroupRules": ["b *:* rwm"]},
    "apparmor unconfined": {"SecurityOpt": ["apparmor=unconfined"]},
    "seccomp unconfined": {"SecurityOpt": ["seccomp=unconfined"]},
    "seccomp old syntax": {"SecurityOpt": ["seccomp:unconfined"]},
    "label disable": {"SecurityOpt": ["label=disable"]},
    "systempaths unconfined": {"MaskedPaths": [], "ReadonlyPaths": []},
    "bind of /": {"Binds": ["/:/host"]},
    "bind of /etc": {"Binds": ["/etc:/h/etc:rw"]},
    "bind beside the workspace": {"Binds": [f"{WORKSPACE}-other:/w"]},
    "bind of the docker socket": {"Binds": ["/var/run/docker.sock:/s"]},
    "bind of /run": {"Binds": ["/run:/r"]},
    "mount of /": {"Mounts": [{"Type": "bind", "Source": "/", "Target": "/h"}]},
    "volume with driver options": {"Mounts": [{"Type": "volume", "Target": "/h",
        "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {"device": "/"}}}}]},
}  # fmt: skip


@pytest.mark.parametrize("name", ESCAPES)
def test_every_way_out_of_the_remapped_namespace_is_refused(name):
    with pytest.raises(Refused) as refused:
        create(ESCAPES[name])
    assert refused.value.allowance  # names the setting that would allow it
    assert "allow it with docker_policy." in policy().message(refused.value)


@pytest.mark.parametrize(
    "raw",
    [
        '{"hostconfig": {"privileged": true}}',  # Go matches keys case-insensitively
        '{"HostConfig": {"Privileged": true}, "hostconfig": {"Memory": 1}}',  # merged
        '{"HostConfig": {"UſernsMode": "host"}}',  # Unicode simple folding: ſ is s
    ],
)
def test_json_is_read_as_go_reads_it(raw):
    with pytest.raises(Refused):
        create({}, raw)


def test_what_jenkins_runs_is_allowed():
    # docker run -t -d -u 1000:1000 -w WS -v WS:WS:rw,z -v WS@tmp:WS@tmp:rw,z --entrypoint cat
    assert create({"Binds": [f"{WORKSPACE}/job:{WORKSPACE}/job:rw,z",
                             f"{WORKSPACE}/job@tmp:{WORKSPACE}/job@tmp:rw,z"]}) == []  # fmt: skip
    assert create({"VolumesFrom": ["ci-agent"]}) == ["c:ci-agent"]  # checked in turn
    assert create({"Binds": ["cache:/cache"], "SecurityOpt": ["no-new-privileges"]}) == [
        "v:cache"
    ]
    assert create({"Binds": [f"{SOCKET}:/var/run/docker.sock"]}) == []  # its own socket again


def test_allowances_allow_exactly_what_they_name():
    trusted = Policy({"socket": SOCKET, "setting": "agent_containers[ci].docker_policy",
                      "binds": [WORKSPACE], "allow": {"privileged": True,
                      "capabilities": ["NET_ADMIN"], "bind_paths": ["/srv/cache"]}})  # fmt: skip
    body = {"hostconfig": {"privileged": True, "capadd": ["CAP_NET_ADMIN"],
                           "binds": ["/srv/cache/x:/c"]}}  # fmt: skip
    assert trusted.request("POST", "/containers/create", {}, body) == []
    with pytest.raises(Refused) as refused:
        trusted.request("POST", "/containers/create", {}, {"hostconfig": {"capadd": ["SYS_ADMIN"]}})
    assert "agent_containers[ci].docker_policy.capabilities" in trusted.message(refused.value)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("POST", "/plugins/pull?remote=evil"),
        ("POST", "/v1.41/swarm/init"),
        ("POST", "/services/create"),
        ("GET", "/v1.41/secrets"),
        ("POST", "/containers/x/start/../../plugins/pull"),
        ("POST", "//containers/create"),
        ("POST", "/v1.12/containers/x/start"),  # a HostConfig at start, before 1.24
        ("POST", "http://docker/containers/create"),
        ("POST", "/containers/create%00"),
    ],
)
def test_endpoints_and_paths_docker_would_read_otherwise_are_refused(method, target):
    with pytest.raises(Refused):
        route(method, target)


def test_paths_are_decoded_and_unversioned_before_the_check():
    assert route("POST", "/v1.41/containers%2Fcreate")[0] == "/containers/create"
    assert route("POST", "/containers/create?name=x")[0] == "/containers/create"
    assert route("GET", "/_ping")[0] == "/_ping"


def test_what_a_request_touches_is_checked_in_turn():
    assert policy().request("POST", "/containers/abc/exec", {}, {}) == ["c:abc"]
    assert policy().request("POST", "/exec/123/start", {}, {}) == ["e:123"]
    assert policy().request("PUT", "/containers/abc/archive", {}, {}) == ["c:abc"]
    assert policy().request("GET", "/containers/abc/archive", {}, {}) == ["c:abc"]
    assert policy().request("GET", "/containers/abc/json", {}, {}) == []
    assert policy().request("POST", "/commit", {"container": ["abc"]}, {}) == ["c:abc"]
    with pytest.raises(Refused):
        policy().request("POST", "/containers/abc/exec", {}, {"privileged": True})
    with pytest.raises(Refused):  # an operator's container that mounts /
        policy().inspected("c", {"hostconfig": {}, "mounts": [{"type": "bind", "source": "/"}]})
    with pytest.raises(Refused):  # an operator's volume that binds a host path
        policy().inspected("v", {"driver": "local", "options": {"o": "bind", "device": "/etc"}})
    assert policy().inspected("c", {"hostconfig": {"pidmode": "container:x"}}) == ["c:x"]


def test_a_symlink_in_the_workspace_does_not_lead_out(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "out").symlink_to("/etc")
    local = Policy({"socket": SOCKET, "setting": "docker_policy",
                    "binds": [str(tmp_path / "ws")], "allow": {}})  # fmt: skip
    with pytest.raises(Refused):
        local.bind(str(tmp_path / "ws" / "out"))
    local.bind(str(tmp_path / "ws" / "in"))


def test_bodies_that_are_not_json_objects_are_refused():
    for body in (b"[1]", b"{", b'{"a": 1} trailing'):
        with pytest.raises(Refused):
            parse_json(body)


def test_settings_never_hand_the_agent_root_by_another_door():
    from pydantic import ValidationError

    from agenthost.settings import Settings

    with pytest.raises(ValidationError, match="docker_users.*bypass docker_policy"):
        Settings(docker_users=["jenkins"])
    insecure = {"builder": {"entitlements": {"security-insecure": True}}}
    with pytest.raises(ValidationError, match="docker_policy.privileged"):
        Settings(docker_daemon_options=insecure)
    Settings(docker_daemon_options=insecure, docker_policy={"privileged": True})

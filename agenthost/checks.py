"""What an agent host should be, from its settings, next to what it is: one list of checks.

`agenthost drift` runs every check on every host, and the testinfra suite in tests/host runs
each one as a test. Expected values come from the settings model and the helpers the tasks use;
actual values are read through testinfra (files, users, units) and the Docker API (the live
daemon). Values are short strings, and never a secret: file contents are compared on the host
by checksum and only said to match or differ, and proxy credentials are masked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker
from docker.errors import NotFound
from testinfra.host import Host as TestinfraHost

from agenthost import agent_container, docker_ce, proxy, subids
from agenthost.images import tarball_references
from agenthost.paths import (
    DAEMON_JSON,
    PROXY_DROP_IN,
    PROXY_ENV_FILE,
    PRUNE_UNIT,
    SOCKET_DROP_IN,
    agent_env_file,
)
from agenthost.prune import unit_files
from agenthost.settings import AgentContainer, Settings
from agenthost.templating import render

ABSENT = "absent"
UNSET = "unset"
SAME = "as configured"


@dataclass(frozen=True)
class Item:
    """One checked thing on one host: it drifted when expected and actual differ."""

    name: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


class Probe:
    """One host with its settings, read through testinfra and the Docker SDK, each fact once."""

    def __init__(self, settings: Settings, host: TestinfraHost, client: docker.DockerClient):
        self.settings, self.host, self.docker = settings, host, client

    @cached_property
    def agent(self):
        return self.host.user(self.settings.agent_user)

    @cached_property
    def owner(self) -> str:
        """The agent's user:group, as the tasks give its files."""
        return f"{self.settings.agent_user}:{self.agent.group}"

    @cached_property
    def home(self) -> str:
        """Where the tasks put the agent's files: the setting, else the user's home."""
        return self.settings.home(self.agent.home if self.agent.exists else None)

    @cached_property
    def info(self) -> dict[str, Any]:
        return self.docker.info()


# --- pure helpers ---------------------------------------------------------------------------


def as_json(value: Any) -> str:
    return UNSET if value is None else json.dumps(value, sort_keys=True)


def json_key_items(path: str, expected: dict[str, Any], text: str) -> list[Item]:
    """An item per key of a JSON object file, so that a report names the key that drifted."""
    try:
        actual = json.loads(text)
    except ValueError:
        actual = None
    if not isinstance(actual, dict):
        return [Item(f"{path}: JSON object", "valid", "invalid")]
    return [
        Item(f"{path}: {key}", as_json(expected.get(key)), as_json(actual.get(key)))
        for key in sorted(expected.keys() | actual.keys())
    ]


def mask(url: str | None) -> str:
    """A proxy URL fit for a report: credentials, however the daemon masked them, become ***."""
    if not url:
        return UNSET
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def subid_summary(text: str, user: str, own_id: int) -> str:
    """The agent's ranges as the tasks write them: `ID:1 + N ids`, else the ranges found."""
    ranges = [(r.start, r.count) for r in subids.parse(text) if r.owner == user]
    if len(ranges) == 2 and ranges[0] == (own_id, 1) and ranges[1][0] >= subids.SUB_ID_MIN:
        return f"{own_id}:1 + {ranges[1][1]} ids"
    return ", ".join(f"{start}:{count}" for start, count in ranges) or "no range"


def container_state(state: dict[str, Any]) -> str:
    """`running, healthy` and the like, from a container's inspect State."""
    if state.get("Status") != "running":
        return state.get("Status", "unknown")
    return f"running, {state.get('Health', {}).get('Status', 'no healthcheck')}"


def expected_container_state(spec: AgentContainer) -> str:
    return "running, no healthcheck" if spec.healthcheck == ["NONE"] else "running, healthy"


def unit_state(enabled: bool, active: bool) -> str:
    return f"{'enabled' if enabled else 'disabled'}, {'active' if active else 'inactive'}"


def sha256(content: str | bytes) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


# --- reading the host -----------------------------------------------------------------------


def _file(host: TestinfraHost, path: str, content_sha256: str | None = None) -> str:
    """`owner:group mode[, as configured|differs]`, or absent; contents never leave the host."""
    file = host.file(path)
    if not file.exists:
        return ABSENT
    state = f"{file.user}:{file.group} {file.mode:04o}"
    if content_sha256 is None:
        return state
    return f"{state}, {SAME if file.sha256sum == content_sha256 else 'differs'}"


def _present(found: bool) -> str:
    return "present" if found else ABSENT


def _image(client: docker.DockerClient, reference: str) -> str:
    try:
        client.images.get(reference)
    except NotFound:
        return ABSENT
    return "present"


# --- the checks -----------------------------------------------------------------------------


def agent_account(p: Probe) -> list[Item]:
    """agent_user, agent_home, agent_workspace, agent_ssh_authorized_keys.

    agent_uid is not checked: the deploy applies it only when it creates the user.
    """
    s = p.settings
    items = [Item(f"user {s.agent_user}", "present", _present(p.agent.exists))]
    if not p.agent.exists:
        return items
    if s.agent_home:
        items.append(Item(f"user {s.agent_user}: home", s.agent_home, p.agent.home))
    workspace = s.agent_workspace
    items.append(Item(f"directory {workspace}", f"{p.owner} 0750", _file(p.host, workspace)))
    keys = f"{p.home}/.ssh/authorized_keys"
    if not s.agent_ssh_authorized_keys:
        return [*items, Item(f"file {keys}", ABSENT, _present(p.host.file(keys).exists))]
    items.append(Item(f"file {keys}", f"{p.owner} 0600", _file(p.host, keys)))
    if p.host.file(keys).exists:
        found = [line for line in p.host.file(keys).content_string.splitlines()
                 if line.strip() and not line.startswith("#")]  # fmt: skip
        listed = "the configured keys" if found == s.agent_ssh_authorized_keys else "other keys"
        items.append(Item(f"file {keys}: keys", "the configured keys", listed))
    return items


def packages(p: Probe) -> list[Item]:
    """docker_source, docker_version, agent_java."""
    s = p.settings
    names = list(docker_ce.PACKAGES) if s.docker_source == "docker-ce" else ["docker.io"]
    names += [s.agent_java] if s.agent_java else []
    items = []
    for name in names:
        installed = p.host.package(name).is_installed
        items.append(Item(f"package {name}", "installed", "installed" if installed else ABSENT))
    engine = p.host.package("docker-ce")
    if s.docker_source == "docker-ce" and s.docker_version and engine.is_installed:
        pin = f"5:{s.docker_version}-*"  # as docker_ce.preferences pins it
        actual = pin if fnmatch(engine.version, pin) else engine.version
        items.append(Item("package docker-ce: version", pin, actual))
    return items


def units(p: Probe) -> list[Item]:
    """The engine's unit, and the clean-up timer (docker_prune_schedule, docker_prune_until)."""
    items = []
    for name in ("docker.service", f"{PRUNE_UNIT}.timer"):
        unit = p.host.service(name)
        items.append(Item(f"unit {name}", unit_state(True, True),
                          unit_state(unit.is_enabled, unit.is_running)))  # fmt: skip
    until, schedule = p.settings.docker_prune_until, p.settings.docker_prune_schedule
    for path, content in unit_files(until, schedule).items():
        items.append(Item(f"file {path}", f"root:root 0644, {SAME}",
                          _file(p.host, path, sha256(content))))  # fmt: skip
    return items


def daemon_json(p: Probe) -> list[Item]:
    """docker_daemon_options and docker_userns_remap, as written for dockerd."""
    items = [Item(f"file {DAEMON_JSON}", "root:root 0644", _file(p.host, DAEMON_JSON))]
    if items[0].actual != ABSENT:
        text = p.host.file(DAEMON_JSON).content_string
        items += json_key_items(DAEMON_JSON, p.settings.daemon_json(), text)
    return items


def subid_ranges(p: Probe) -> list[Item]:
    """docker_userns_remap and docker_subid_count: container root is the agent."""
    s = p.settings
    if not s.docker_userns_remap or not p.agent.exists:
        return []
    items = []
    for path, own_id in (("/etc/subuid", p.agent.uid), ("/etc/subgid", p.agent.gid)):
        file = p.host.file(path)
        actual = subid_summary(file.content_string, s.agent_user, own_id) if file.exists else ABSENT
        items.append(Item(f"file {path}: {s.agent_user}",
                          f"{own_id}:1 + {s.docker_subid_count} ids", actual))  # fmt: skip
    return items


def live_daemon(p: Probe) -> list[Item]:
    """What dockerd runs with now: the daemon.json it last read and the remap ids."""
    config, info = p.settings.daemon_json(), p.info
    remap = p.settings.docker_userns_remap
    root = config.get("data-root", "/var/lib/docker")
    if remap:
        root += f"/{p.agent.uid}.{p.agent.gid}" if p.agent.exists else "/<agent uid>.<gid>"
    userns = any("name=userns" in option for option in info.get("SecurityOptions") or [])
    return [
        Item("dockerd: userns-remap", as_json(remap), as_json(userns)),
        Item("dockerd: root dir", root, info.get("DockerRootDir", UNSET)),
        Item("dockerd: live-restore", as_json(bool(config.get("live-restore"))),
             as_json(info.get("LiveRestoreEnabled"))),
        Item("dockerd: logging driver", config.get("log-driver", "json-file"),
             info.get("LoggingDriver", UNSET)),
    ]  # fmt: skip


def proxies(p: Probe) -> list[Item]:
    """docker_http_proxy, docker_https_proxy, docker_no_proxy: dockerd's and the agent's."""
    s = p.settings
    # dockerd prefers daemon.json's proxies (Docker 23+) over its environment.
    own = s.daemon_json().get("proxies") or {}
    wanted = {
        "HttpProxy": own.get("http-proxy") or s.docker_http_proxy,
        "HttpsProxy": own.get("https-proxy") or s.docker_https_proxy,
        "NoProxy": own.get("no-proxy") or ",".join(s.docker_no_proxy),
    }
    items = [
        Item(f"dockerd: {key}", mask(value), mask(p.info.get(key))) for key, value in wanted.items()
    ]
    drop_in = "root:root 0644" if proxy.variables(s) else ABSENT
    env_file = "root:root 0600" if proxy.has_credentials(s) else ABSENT
    items.append(Item(f"file {PROXY_DROP_IN}", drop_in, _file(p.host, PROXY_DROP_IN)))
    items.append(Item(f"file {PROXY_ENV_FILE}", env_file, _file(p.host, PROXY_ENV_FILE)))
    client = f"{p.home}/.docker/config.json"
    if p.agent.exists:
        items.append(Item(f"file {client}", f"{p.owner} 0600, {SAME}",
                          _file(p.host, client, sha256(proxy.client_config_json(s)))))  # fmt: skip
    return items


def docker_access(p: Probe) -> list[Item]:
    """The socket is 0660 root:docker; agent_user and docker_users are in the docker group."""
    socket = agent_container.DOCKER_SOCKET
    items = [
        Item(f"socket {socket}", "root:docker 0660", _file(p.host, socket)),
        Item(f"file {SOCKET_DROP_IN}", f"root:root 0644, {SAME}",
             _file(p.host, SOCKET_DROP_IN, sha256(render("docker-socket.conf.j2")))),
    ]  # fmt: skip
    for name in [p.settings.agent_user, *p.settings.docker_users]:
        user = p.host.user(name)
        if not user.exists:
            member = "no such user"
        else:
            member = "member" if "docker" in user.groups else "not a member"
        items.append(Item(f"group docker: {name}", "member", member))
    return items


def images(p: Probe) -> list[Item]:
    """docker_image_preload and agent_image_build: the images are in the daemon's data root."""
    s = p.settings
    references = [ref for path in s.docker_image_preload
                  for ref in tarball_references(str(Path(path).expanduser()))]  # fmt: skip
    if s.agent_image_build:
        references.append(s.agent_image_build.tag)
    return [Item(f"image {ref}", "present", _image(p.docker, ref)) for ref in references]


def agent_containers(p: Probe) -> list[Item]:
    """agent_containers: each runs healthy with its configured spec; no other agent container."""
    s = p.settings
    labelled = p.docker.containers.list(all=True, filters={"label": agent_container.AGENT_LABEL})
    found = {container.name: container for container in labelled}
    items = []
    for spec in s.agent_containers:
        container = found.pop(spec.name, None)
        actual = container_state(container.attrs["State"]) if container else ABSENT
        items.append(Item(f"container {spec.name}", expected_container_state(spec), actual))
        env_file = env_sha256 = None
        if spec.env_file:
            env_file = agent_env_file(spec.name)
            env_sha256 = sha256(Path(spec.env_file).expanduser().read_bytes())
            items.append(Item(f"file {env_file}", f"root:root 0600, {SAME}",
                              _file(p.host, env_file, env_sha256)))  # fmt: skip
        if container:
            digest = _spec_hash(p, spec, env_file, env_sha256)
            label = container.labels.get(agent_container.SPEC_LABEL)
            items.append(
                Item(f"container {spec.name}: spec", SAME, SAME if label == digest else "differs")
            )
    for name, container in sorted(found.items()):
        items.append(Item(f"container {name}", ABSENT, container_state(container.attrs["State"])))
    return items


def _spec_hash(p: Probe, spec: AgentContainer, env_file: str | None,
               env_sha256: str | None) -> str | None:  # fmt: skip
    """The hash the deploy labels the container with, from the same inputs read on the host."""
    docker_gid = p.host.group("docker")
    if not (p.agent.exists and docker_gid.exists) or _image(p.docker, spec.image) == ABSENT:
        return None
    ids = agent_container.HostIds(p.agent.uid, p.agent.gid, docker_gid.gid)
    args = agent_container.run_args(
        spec, ids, p.settings.agent_workspace, p.settings.userns_agent, env_file
    )
    return agent_container.spec_hash(args, p.docker.images.get(spec.image).id, env_sha256)


Check = Callable[[Probe], list[Item]]

CHECKS: dict[str, Check] = {
    "agent account": agent_account,
    "packages": packages,
    "units": units,
    "daemon.json": daemon_json,
    "subuid and subgid": subid_ranges,
    "live daemon": live_daemon,
    "proxies": proxies,
    "docker access": docker_access,
    "images": images,
    "agent containers": agent_containers,
}


def run_all(probe: Probe) -> list[Item]:
    return [item for check in CHECKS.values() for item in check(probe)]

"""Every agenthost setting, declared once: type, default and a one-line doc.

Values come from pyinfra host data (inventory files, group_data/*.py) and from
group_data/*.yaml, read by agenthost.hostdata, which validates every host before any is touched.
Pure: no IO here.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Set
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agenthost import agent_container, daemon_config, safety
from agenthost.docker_policy import DockerPolicy

# Settings live in these namespaces; a key there that is not a setting is a typo.
OUR_PREFIXES = ("agent_", "docker_")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# The userinfo of a URL, user:password or a token alone: all of it is secret.
# Up to the first @ after ://, within one quoted value: a password may hold / or a space.
CREDENTIALS = re.compile(r"(://)[^@'\"\n]+@")
# scheme://[userinfo@]host[:port][/]; the userinfo ends at the last @ and may hold anything.
PROXY_URL = re.compile(r"^(?P<scheme>http|https|socks5)://(?:(?P<userinfo>.+)@)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?P<port>:\d{1,5})?/?$")
# What a URL's userinfo must not hold raw; "%" stays, so a percent-encoded password is kept.
USERINFO_RESERVED = "/ ?#@[]"
PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+(=[0-9][0-9A-Za-z.~:+-]*)?$")
# Debian 13's versions (docker-cli is the client alone); bump them together with the base image.
AGENT_IMAGE_PACKAGES = (
    "docker-cli=26.1.5+dfsg1-9+deb13u1+b1",
    "tini=0.19.0-3+b8",
    "ca-certificates=20250419+deb13u1",
    "git=1:2.47.3-0+deb13u1",
)


JAVA_MINIMUM = 17  # Jenkins 2.463 and later refuse agents on older Java
# A Java major version in a package name: openjdk-11-jre-headless, temurin-8-jdk, zulu11-jre,
# java-1.8.0-openjdk, java-11-amazon-corretto-jdk.
JAVA_PACKAGE = re.compile(r"(?:openjdk|temurin|zulu|java)-?(?:1\.)?(\d+)(?:[.-]|$)")


def java_package_major(package: str) -> int | None:
    """The Java major version a package's name gives, or None when the name does not say."""
    match = JAVA_PACKAGE.search(package)
    return int(match[1]) if match else None


def java_major(version_output: str) -> int | None:
    """The major version in `java -version` output: 17 for "17.0.9", 8 for "1.8.0_392"."""
    match = re.search(r'version "(?:1\.)?(\d+)', version_output)
    return int(match[1]) if match else None


class AgentContainer(BaseModel):
    """One Docker-out-of-Docker agent container."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", description="Container name.")
    image: str = Field(description="Image reference; preload it with docker_image_preload.")
    kind: Literal["dood", "jenkins-inbound"] = Field(
        "dood",
        description="`jenkins-inbound`: a Jenkins inbound agent (--init, secret from env_file,"
        " the proxies).",
    )
    command: list[str] = Field(default_factory=list, description="Command, empty for the image's.")
    environment: dict[str, str] = Field(default_factory=dict, description="Plain environment.")
    env_file: str | None = Field(None, description="Local file with secret KEY=value lines.")
    volumes: list[str] = Field(
        default_factory=list, description="Extra host:container[:mode] binds."
    )
    ports: list[str] = Field(
        default_factory=list, description="Published ports, [ip:]host:container."
    )
    memory: str | None = Field(
        "2g", description="Memory limit (docker --memory), with a unit, at least 6m."
    )
    cpus: float | None = Field(
        2.0, ge=0.01, description="CPU limit (docker --cpus), at most the host's CPUs."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Container labels.")
    healthcheck: list[str] | None = Field(
        None, description="Healthcheck test, e.g. [CMD, docker, version]; none: the image's."
    )
    stop_timeout: int = Field(300, ge=0, description="Seconds `docker stop` waits before SIGKILL.")
    docker_policy: DockerPolicy = Field(
        default_factory=DockerPolicy,
        description="What this agent and its builds may also ask Docker, over the host's.",
    )

    @field_validator("ports")
    @classmethod
    def _ports(cls, value):
        for port in value:
            agent_container.publish(port)
            match = agent_container.PORT.match(port)
            safety.port_numbers(port, match["host"], match["container"])
        return value

    _image = field_validator("image")(lambda v: safety.image_reference(v))
    _memory = field_validator("memory")(
        lambda v: v if v is None else safety.memory(v)
    )
    _volumes = field_validator("volumes")(lambda v: [safety.volume(x) for x in v])
    _labels = field_validator("labels")(lambda v: safety.labels(v))
    _environment = field_validator("environment")(lambda v: safety.environment(v))

    @field_validator("healthcheck")
    @classmethod
    def _healthcheck(cls, value):
        agent_container.health_args(value)
        return value

    @model_validator(mode="after")
    def _inbound_secret(self):
        if self.kind == "jenkins-inbound" and not self.env_file:
            raise ValueError("a jenkins-inbound agent needs env_file with its JENKINS_SECRET")
        if "JENKINS_SECRET" in self.environment:
            raise ValueError("JENKINS_SECRET belongs in env_file, never in environment")
        return self


class AgentImageBuild(BaseModel):
    """An agent image built on the host from templates/Dockerfile.agent.j2."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(description="Reference the image gets, e.g. agenthost/agent:1.")
    base: str = Field("debian:trixie-slim", description="FROM image; preload it if no registry.")
    packages: list[str] = Field(
        default_factory=lambda: list(AGENT_IMAGE_PACKAGES),
        description="apt packages, pinned as name=version; a docker CLI and tini are required.",
    )

    _references = field_validator("tag", "base")(lambda v: safety.image_reference(v))
    _packages = field_validator("packages")(lambda v: [safety.deb_package(p) for p in v])


class Settings(BaseModel):
    """The settings of one agent host."""

    model_config = ConfigDict(extra="forbid")

    agent_user: str = Field("jenkins", description="User that runs builds and owns their files.")
    agent_uid: int | None = Field(
        None, ge=1000, le=60000, description="UID given to the agent user when it is created."
    )
    agent_home: str | None = Field(
        None, description="Agent user's home; default /home/<agent_user>."
    )
    # Outside the home: an agent image's own home may be private to an id that the agent
    # container does not have, and the mount must be reachable.
    agent_workspace: str = Field(
        "/var/lib/agenthost/workspace", description="Directory builds run in, owned by the agent."
    )
    agent_ssh_authorized_keys: list[str] = Field(
        default_factory=list,
        description="Public keys allowed to log in as the agent (exactly these).",
    )
    agent_java: str | Literal[False] = Field(
        False, description="Java runtime package (17 or newer) for SSH agents, or false for none."
    )
    agent_packages: list[str] = Field(
        default_factory=list,
        description="apt packages SSH builds need on the host: `name` or `name=version` (held).",
    )
    agent_retired: bool = Field(
        False,
        description="Out of service: agent containers, units, drop-ins and keys removed, "
        "daemon.json and subid lines as before agenthost; engine and account kept (remapped "
        "images stay in /var/lib/docker/<uid>.<gid>, unread).",
    )
    agent_retired_remove_user: bool = Field(
        False, description="With agent_retired: also delete the agent account (not its files)."
    )
    agent_containers: list[AgentContainer] = Field(
        default_factory=list, description="Docker-out-of-Docker agent containers to keep running."
    )
    docker_source: Literal["distro", "docker-ce"] = Field(
        "distro", description="`distro`: the OS's docker.io; `docker-ce`: Docker's apt repository."
    )
    docker_version: str | None = Field(
        None,
        pattern=r"^[0-9][0-9A-Za-z.~:+-]*$",
        description="Engine version, held: docker-ce's (27.3.1) or docker.io's "
        "(26.1.5+dfsg1-9+deb13u1); none: the newest.",
    )
    docker_compose: bool = Field(
        True, description="Compose: docker-compose-plugin, or the distro's docker-compose."
    )
    docker_buildx: bool = Field(
        True, description="buildx where the source has it (not Debian 12's docker.io)."
    )
    docker_ce_repository_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="Mirror of Docker's apt repository; none: download.docker.com/linux/<os>.",
    )
    docker_ce_key_url: str | None = Field(
        None, pattern=r"^https?://[^\s]+$", description="Its signing key; none: <repository>/gpg."
    )
    docker_userns_remap: bool = Field(
        True, description="Remap container root to the agent user (userns-remap)."
    )
    docker_userns_agent: Literal["root", "uid"] = Field(
        "root",
        description="Under userns-remap, the agent on the host is container root (`root`) or"
        " its own uid (`uid`).",
    )
    docker_subid_count: int = Field(
        65536, ge=65536, le=2**24, description="Size of the agent's second subuid/subgid range."
    )
    docker_http_proxy: str | None = Field(
        None, description="HTTP proxy URL for dockerd and builds."
    )
    docker_https_proxy: str | None = Field(
        None, description="HTTPS proxy URL for dockerd and builds."
    )
    docker_apt_proxy: bool = Field(
        True, description="apt uses docker_http_proxy and docker_https_proxy too."
    )
    docker_no_proxy: list[str] = Field(
        default_factory=list, description="Hosts and domains that bypass the proxy."
    )
    docker_daemon_options: dict[str, Any] = Field(
        default_factory=dict,
        description="daemon.json keys merged over the defaults; null removes a default.",
    )
    agent_run_lock_timeout: int = Field(
        600, ge=0, le=7200,
        description="Seconds a run waits for another agenthost run (or its Docker apply) here.",
    )
    docker_start_timeout: int = Field(
        300, ge=10, le=3600,
        description="Seconds dockerd may take to start, then to answer, before a rollback.",
    )
    docker_apt_lock_timeout: int = Field(
        600, ge=0, le=7200,
        description="Seconds apt waits for another apt or dpkg (apt-daily) to free its locks.",
    )
    docker_users: list[str] = Field(
        default_factory=list,
        description="Users in the docker group (root on the host; never the agent): exactly these.",
    )
    docker_policy: DockerPolicy = Field(
        default_factory=DockerPolicy,
        description="What every agent and build on the host may ask Docker beyond the default.",
    )
    docker_image_preload: list[str] = Field(
        default_factory=list, description="Local image tarballs loaded on the host when absent."
    )
    docker_image_pull: list[str] = Field(
        default_factory=list,
        description="Image references pulled (through dockerd's proxy) when absent on the host.",
    )
    docker_registry_auth_file: str | None = Field(
        None,
        description="Local root-only (0600) JSON {registry: {username, password}} for pulls.",
    )
    agent_image_build: AgentImageBuild | None = Field(
        None, description="Build an agent image on the host (tag, base, packages), or none."
    )
    docker_prune_schedule: str = Field(
        "daily", description="systemd OnCalendar of the clean-up timer."
    )
    docker_prune_until: str = Field(
        "168h",
        pattern=r"^[0-9]+[smh]$",
        description="Clean up what is older than this (e.g. 168h).",
    )
    docker_audit: Literal["all", "no-data-dirs", False] = Field(
        "no-data-dirs",
        description="CIS 1.1.3-1.1.18 audit rules (auditd): `all`; `no-data-dirs` without the "
        "/var/lib/docker and /run/containerd watches; false: none.",
    )

    @field_validator("agent_user", "docker_users")
    @classmethod
    def _user_names(cls, value):
        for name in [value] if isinstance(value, str) else value:
            if not USER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid user name ({USER_NAME.pattern})")
        return value

    @field_validator("docker_http_proxy", "docker_https_proxy")
    @classmethod
    def _proxy_url(cls, value):
        if value is None:
            return value
        match = PROXY_URL.match(value)
        if not match:
            raise ValueError(
                "expected a URL such as http://proxy.example:3128 (user:password may come first)"
            )
        if not match["userinfo"]:
            return value
        # user:password with /, space or @ percent-encoded, as every proxy client parses it.
        user, colon, password = match["userinfo"].partition(":")
        userinfo = _encode(user) + colon + _encode(password)
        return f"{match['scheme']}://{userinfo}@{value[match.start('host'):]}"

    @field_validator("agent_home", "agent_workspace")
    @classmethod
    def _agent_dir(cls, value):
        return value if value is None else safety.agent_dir(value)

    _agent_user = field_validator("agent_user")(lambda v: safety.agent_user(v))
    _agent_java = field_validator("agent_java")(
        lambda v: v if v is False else safety.deb_package(v)
    )
    _no_proxy = field_validator("docker_no_proxy")(lambda v: safety.no_proxy(v))
    _schedule = field_validator("docker_prune_schedule")(lambda v: safety.calendar(v))

    @field_validator("agent_ssh_authorized_keys")
    @classmethod
    def _keys(cls, value):
        for key in value:
            if not key.strip() or "\n" in key.strip():
                raise ValueError(f"expected one public key per entry, got {key!r}")
        return [key.strip() for key in value]

    @field_validator("agent_packages")
    @classmethod
    def _packages(cls, value):
        for spec in value:
            if not PACKAGE.match(spec):
                raise ValueError(f"{spec!r} is not `name` or `name=version`")
        return value

    def agent_package_versions(self) -> dict[str, str | None]:
        """agent_packages as name -> exact version, or None for any."""
        split = (spec.partition("=") for spec in self.agent_packages)
        return {name: version or None for name, _, version in split}

    @field_validator("agent_java")
    @classmethod
    def _java(cls, value):
        major = java_package_major(value) if value else None
        if major is not None and major < JAVA_MINIMUM:
            raise ValueError(
                f"gives Java {major}; Jenkins agents need Java {JAVA_MINIMUM} or newer"
                f" (e.g. openjdk-{JAVA_MINIMUM}-jre-headless, default-jre-headless)"
            )
        return value

    @field_validator("agent_containers")
    @classmethod
    def _unique_names(cls, value):
        names = [container.name for container in value]
        if len(set(names)) != len(names):
            raise ValueError(f"container names must be unique: {names}")
        return value

    @field_validator("docker_daemon_options")
    @classmethod
    def _daemon_options(cls, value):
        daemon_config.check_options(value)
        return value

    @model_validator(mode="after")
    def _outside_data_root(self):
        root = self.docker_daemon_options.get("data-root")
        for name in ("agent_home", "agent_workspace"):
            path = getattr(self, name)
            if root and path and (path + "/").startswith(root.rstrip("/") + "/"):
                raise ValueError(f"{name} = {path!r} is inside Docker's data-root {root}")
        return self

    @model_validator(mode="after")
    def _agent_not_docker_user(self):
        if self.agent_user in self.docker_users:
            raise ValueError(
                f"docker_users = {self.docker_users!r} names the agent {self.agent_user!r}: the"
                " docker group is root on the host and would bypass docker_policy; agents reach"
                " Docker through their policy socket"
            )
        return self

    @model_validator(mode="after")
    def _no_insecure_builds(self):
        entitlements = (self.docker_daemon_options.get("builder") or {}).get("entitlements") or {}
        if entitlements.get("security-insecure") and not self.docker_policy.privileged:
            raise ValueError(
                "docker_daemon_options builder.entitlements.security-insecure = true lets builds"
                " run privileged: allow it knowingly with docker_policy.privileged"
            )
        return self

    def home(self, existing: str | None) -> str:
        """The agent's home: the setting, else an existing user's home, else /home/<user>."""
        return self.agent_home or existing or f"/home/{self.agent_user}"

    @property
    def userns_agent(self) -> Literal["root", "uid"] | None:
        """Who the agent is inside containers under userns-remap; None without it."""
        return self.docker_userns_agent if self.docker_userns_remap else None

    def daemon_json(self) -> dict[str, Any]:
        remap = self.agent_user if self.docker_userns_remap else None
        return daemon_config.merged(remap, self.docker_daemon_options)


SETTING_NAMES = tuple(Settings.model_fields)


class SettingsError(ValueError):
    """Bad settings on one or more hosts; the message names each host, setting and value."""


@functools.cache  # reading the connectors' entry points costs ~10 ms, once per host otherwise
def _pyinfra_keys() -> frozenset[str]:
    from pyinfra.api.connectors import get_all_connectors

    keys: set[str] = set()
    for connector in get_all_connectors().values():
        keys.update(getattr(connector.data_cls, "__annotations__", {}))
    return frozenset(keys)


def split_data(data: dict[str, Any], pyinfra_keys: Set[str]) -> tuple[dict[str, Any], list[str]]:
    """Our settings out of a host's data, plus a message for each key that looks like a typo."""
    ours, unknown = {}, []
    for key, value in data.items():
        if key in SETTING_NAMES:
            ours[key] = value
        elif key.startswith("_") or key in pyinfra_keys:
            continue
        else:
            close = difflib.get_close_matches(key, SETTING_NAMES, n=1, cutoff=0.8)
            if close or key.startswith(OUR_PREFIXES):
                hint = f"did you mean {close[0]!r}?" if close else "it is not a setting"
                unknown.append(redact(f"{key} = {value!r}: unknown setting, {hint}"))
    return ours, unknown


def _encode(part: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in USERINFO_RESERVED else c for c in part)


def redact(text: str) -> str:
    """Text with the credentials of every URL in it replaced, fit for output and logs."""
    return CREDENTIALS.sub(r"\1***@", text)


def has_credentials(url: str | None) -> bool:
    return bool(url and CREDENTIALS.search(url))


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "settings"
    value = error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a rule across settings names them itself; the input is all of them
        return redact(message)
    return redact(f"{where} = {value!r}: {message}")


def validate(name: str, data: dict[str, Any], pyinfra_keys: Set[str] | None = None) -> Settings:
    """The settings of host `name`, or a SettingsError naming every bad setting and value."""
    ours, problems = split_data(data, _pyinfra_keys() if pyinfra_keys is None else pyinfra_keys)
    # Units, drop-ins, env files and the Dockerfile are line based: a newline adds a directive.
    problems += [redact(f"{where} = {value!r}: control characters are not allowed")
                 for where, value in safety.control_characters(ours)]  # fmt: skip
    settings = None
    try:
        settings = Settings(**ours)
    except ValidationError as error:
        problems += [_describe(e) for e in error.errors(include_url=False)]
    if settings and data.get("ssh_user") == settings.agent_user:
        problems.append(
            f"agent_user = {settings.agent_user!r}: it is the user pyinfra connects as (ssh_user);"
            " the deploy manages the agent's keys and would lock that user out"
        )
    if problems:
        raise SettingsError("\n".join(f"host {name}: {problem}" for problem in problems))
    return settings


def settings_table() -> str:
    """The README's settings tables, made from the models."""
    return "\n".join(
        [
            _table(Settings, "setting"),
            "Each entry of `agent_containers`:\n",
            _table(AgentContainer, "key"),
            "`docker_policy`, of the host and of each agent container:\n",
            _table(DockerPolicy, "key"),
            "`agent_image_build`:\n",
            _table(AgentImageBuild, "key"),
        ]
    )


def _table(model: type[BaseModel], what: str) -> str:
    rows = [f"| {what} | default | what it is |", "| --- | --- | --- |"]
    for name, field in model.model_fields.items():
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        if field.is_required():
            default = "required"
        else:  # a nested model's default is its own defaults, in its own table
            default = "`{}`" if isinstance(value, BaseModel) else f"`{value!r}`"
        rows.append(f"| `{name}` | {default} | {field.description} |")
    return "\n".join(rows) + "\n"


TABLE_START = "<!-- settings table: agenthost settings --readme README.md -->"
TABLE_END = "<!-- end -->"


def with_settings_table(readme: str) -> str:
    """`readme` with the text between the table markers made anew from the model."""
    head, rest = readme.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{settings_table()}{TABLE_END}{tail}"

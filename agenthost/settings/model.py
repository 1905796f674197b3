"""The settings of one agent host: every setting declared once, with type, default and doc.

Pure: the rules of each value and across values; loading them from pyinfra's host data is
agenthost.settings.loading's job.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agenthost import credentials, daemon_config, safety
from agenthost.docker_policy import DockerPolicy
from agenthost.settings.container import AgentContainer
from agenthost.settings.image import AgentImageBuild
from agenthost.settings.java import JAVA_MINIMUM, java_package_major

USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


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
        pattern=safety.DEB_VERSION.pattern,
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
        None, pattern=r"^https?://[^\s]+$",
        description="Its signing key, over https; none: <repository>/gpg.",
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

    _proxy_urls = field_validator("docker_http_proxy", "docker_https_proxy")(
        lambda v: v if v is None else credentials.proxy_url(v)
    )

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

    _packages = field_validator("agent_packages")(lambda v: [safety.deb_package(p) for p in v])

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

    _daemon_options = field_validator("docker_daemon_options")(
        lambda v: daemon_config.check_options(v)
    )

    @model_validator(mode="after")
    def _key_over_https(self):
        # apt checks packages against the key; a key fetched over http:// may be anyone's.
        key = self.docker_ce_key_url or f"{self.docker_ce_repository_url or 'https://'}/gpg"
        if self.docker_source == "docker-ce" and not key.startswith("https://"):
            setting = "docker_ce_key_url" if self.docker_ce_key_url else "docker_ce_repository_url"
            raise ValueError(
                f"{setting} = {getattr(self, setting)!r}: Docker's signing key would come over"
                " http://, where anyone on the way can swap it; give docker_ce_key_url over https://"
            )
        return self

    @model_validator(mode="after")
    def _not_another_users_home(self):
        for name in ("agent_home", "agent_workspace"):
            other = safety.other_users_home(getattr(self, name), self.agent_user)
            if other:
                raise ValueError(
                    f"{name} = {getattr(self, name)!r} is in /home/{other}, the home of another"
                    f" user than the agent {self.agent_user!r}: the deploy would make its files,"
                    " and its authorized_keys, the agent's"
                )
        return self

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

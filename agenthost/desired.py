"""What an agent host must have, concern by concern: pure functions of its settings and of the
agent's account (which only the host knows). The deploy applies them (agenthost.tasks), the
testinfra suite (tests/host) compares hosts with them, and drift plans the deploy itself: each
rule is written here once.
"""

from __future__ import annotations

from typing import NamedTuple

from agenthost import daemon_config, engine, proxy
from agenthost.paths import (
    AGENT_PIN,
    APT_PROXY,
    DAEMON_JSON,
    DROP_IN_DIRS,
    PROXY_DROP_IN,
    PROXY_ENV_FILE,
    PRUNE_UNIT,
    SOCKET_DROP_IN,
    SUBID_FILES,
)
from agenthost.prune import unit_files
from agenthost.settings import Settings, has_credentials
from agenthost.templating import render

AUTHORIZED_KEYS_HEADER = (
    "# Managed by agenthost from agent_ssh_authorized_keys: exactly these keys."
)


class Account(NamedTuple):
    """The agent's home and primary group, as the host has them (or will, once created)."""

    home: str
    group: str


class File(NamedTuple):
    """A file with exactly this content, mode and owner, or (content None) no file at all."""

    path: str
    content: str | None
    mode: str = "644"
    user: str = "root"
    group: str = "root"
    secret: bool = False  # root-only before its content arrives; never shown or diffed


class DockerdFile(NamedTuple):
    """A file (or drop-in directory) dockerd reads; of a file other users share (the subid
    files), only the lines starting with `lines` are dockerd's concern."""

    path: str
    lines: str | None = None


def dockerd_files(settings: Settings) -> list[DockerdFile]:
    """Everything the deploy manages that dockerd reads: what one restart applies, and what a
    failed restart puts back. (The order is the applied checksum's: hosts record it.)"""
    subids = [DockerdFile(path, f"{settings.agent_user}:") for path in SUBID_FILES]
    return [
        *(subids if settings.docker_userns_remap else []),
        DockerdFile(DAEMON_JSON),
        DockerdFile(PROXY_DROP_IN),
        DockerdFile(PROXY_ENV_FILE),
        DockerdFile(SOCKET_DROP_IN),
        *(DockerdFile(directory) for directory in DROP_IN_DIRS),
    ]


def daemon_json(settings: Settings) -> File:
    """0644 as CIS 3.17 asks, unless an option holds credentials (a proxy URL's): then 0600."""
    content = daemon_config.render(settings.daemon_json())
    secret = has_credentials(content)
    return File(DAEMON_JSON, content, "600" if secret else "644", secret=secret)


def proxy_files(settings: Settings, account: Account) -> list[File]:
    """dockerd's drop-in (the credentials, if any, in a root-only environment file) and the
    agent's Docker client configuration, with the same proxies."""
    env = proxy.variables(settings)
    secret = proxy.has_credentials(settings)
    drop_in = render(
        "http-proxy.conf.j2",
        env_file=PROXY_ENV_FILE if secret else None,
        assignments=[proxy.systemd_quote(f"{k}={v}") for k, v in env.items()],
    )
    return [
        File(PROXY_DROP_IN, drop_in if env else None),
        File(PROXY_ENV_FILE, proxy.env_file(env) if secret else None, "600", secret=True),
        File(
            client_config_path(account),
            proxy.client_config_json(settings),
            "600",
            settings.agent_user,
            account.group,
            secret=True,
        ),
    ]


def apt_proxy(settings: Settings) -> File:
    """apt's proxy drop-in: root-only when a URL carries credentials (apt run by root only)."""
    secret = proxy.has_credentials(settings)
    return File(APT_PROXY, proxy.apt_conf(settings), "600" if secret else "644", secret=secret)


def client_config_path(account: Account) -> str:
    return f"{account.home}/.docker/config.json"


def socket_drop_in(settings: Settings) -> File:
    """0660 root:docker; under userns-remap also an ACL entry for the agent, set by systemd each
    time it makes the socket: remapped agent containers are the agent, without its groups."""
    acl_user = settings.agent_user if settings.docker_userns_remap else None
    return File(SOCKET_DROP_IN, render("docker-socket.conf.j2", acl_user=acl_user))


def socket_packages(settings: Settings) -> list[str]:
    """What the socket's drop-in runs: setfacl."""
    return ["acl"] if settings.docker_userns_remap else []


def prune_units(settings: Settings) -> list[File]:
    units = unit_files(settings.docker_prune_until, settings.docker_prune_schedule)
    return [File(path, content) for path, content in units.items()]


def authorized_keys(settings: Settings, account: Account) -> File:
    keys = settings.agent_ssh_authorized_keys
    content = "".join(f"{line}\n" for line in [AUTHORIZED_KEYS_HEADER, *keys]) if keys else None
    return File(f"{account.home}/.ssh/authorized_keys", content, "600",
                settings.agent_user, account.group)  # fmt: skip


def authorized_keys2(account: Account) -> File:
    """None: sshd reads it too (Debian's AuthorizedKeysFile), and keys there bypass the list."""
    return File(f"{account.home}/.ssh/authorized_keys2", None)


def files(settings: Settings, account: Account) -> list[File]:
    """Every file agenthost owns on the host, present or absent (not the subid files, which
    hold other users' lines too, nor agent containers' secrets, which only the deploy machine
    has)."""
    return [
        daemon_json(settings),
        *proxy_files(settings, account),
        apt_proxy(settings),
        socket_drop_in(settings),
        *prune_units(settings),
        authorized_keys(settings, account),
        authorized_keys2(account),
        agent_pin(settings),
    ]


def agent_packages(settings: Settings) -> dict[str, str | None]:
    """What SSH builds need on the host: name -> exact version, or None for any."""
    packages = settings.agent_package_versions()
    if settings.agent_java:
        packages.setdefault(settings.agent_java, None)
    return packages


def agent_pin(settings: Settings) -> File:
    return File(AGENT_PIN, engine.apt_pin(settings.agent_package_versions()))


def engine_pin(settings: Settings, system: engine.System) -> File:
    """apt preferences holding the engine at docker_version; none without a version."""
    return File(engine.PIN, engine.engine(settings, system).pin)


def packages(settings: Settings, system: engine.System) -> list[str]:
    """Packages that must be installed (at any version: the deploy holds the engine's)."""
    engine_packages = engine.engine(settings, system).packages
    return [*engine_packages, *socket_packages(settings), *agent_packages(settings)]


def absent_packages(settings: Settings, system: engine.System) -> list[str]:
    return engine.engine(settings, system).absent


def units(settings: Settings) -> list[str]:
    """Units that must be enabled and active."""
    return ["docker.service", f"{PRUNE_UNIT}.timer"]


def docker_group(settings: Settings) -> list[str]:
    """Users who must be in the docker group."""
    return [settings.agent_user, *settings.docker_users]

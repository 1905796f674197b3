"""What an agent host must have, concern by concern: pure functions of its settings and of the
agent's account (which only the host knows). The deploy applies them (agenthost.tasks), the
testinfra suite (agenthost/verify) compares hosts with them, and drift plans the deploy itself: each
rule is written here once.
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files as package_files
from typing import NamedTuple

from agenthost import audit, daemon_config, engine, proxy
from agenthost import docker_policy as policy
from agenthost.credentials import has_credentials, has_secrets
from agenthost.paths import (
    AGENT_PIN,
    APT_NO_PROXY,
    APT_PROXY,
    DAEMON_JSON,
    DROP_IN_DIRS,
    PROXY_DROP_IN,
    PROXY_ENV_FILE,
    PRUNE_UNIT,
    RUNTIME_DROP_IN_DIRS,
    SOCKET_DROP_IN,
    SUBID_FILES,
    UNIT_OVERRIDES,
)
from agenthost.prune import unit_files
from agenthost.settings import Settings
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
    files), only the lines starting with `lines` are dockerd's concern. An `unwanted` file
    counts only while it exists (an unwanted directory, while it holds drop-ins), so that hosts
    without it keep the checksum they recorded, and a reboot emptying /run changes nothing."""

    path: str
    lines: str | None = None
    unwanted: bool = False


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
        *(DockerdFile(directory, unwanted=True) for directory in RUNTIME_DROP_IN_DIRS),
        *(DockerdFile(path, unwanted=True) for path in UNIT_OVERRIDES),
    ]


def daemon_json(settings: Settings) -> File:
    """0644 as CIS 3.17 asks, unless an option holds credentials (a URL's userinfo, or an option
    named for a secret such as a log driver's splunk-token): then 0600, never shown."""
    config = settings.daemon_json()
    content = daemon_config.render(config)
    secret = has_credentials(content) or has_secrets(config)
    return File(DAEMON_JSON, content, "600" if secret else "644", secret=secret)


def proxy_files(settings: Settings, account: Account) -> list[File]:
    """dockerd's drop-in (the credentials, if any, in a root-only environment file) and the
    agent's Docker client configuration, with the same proxies."""
    env = proxy.variables(settings)
    secret = has_credentials(proxy.env_file(env))
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
            json.dumps(client_config(settings), indent=2, sort_keys=True) + "\n",
            "600",
            settings.agent_user,
            account.group,
            secret=True,
        ),
    ]


def apt_proxy(settings: Settings) -> File:
    """apt's proxy drop-in: root-only when a URL carries credentials (apt run by root only)."""
    content = proxy.apt_conf(settings)
    secret = has_credentials(content)
    return File(APT_PROXY, content, "600" if secret else "644", secret=secret)


def apt_no_proxy(settings: Settings) -> File:
    """The program apt asks whether a URL bypasses its proxy; 0755, as apt runs it as _apt (it
    holds no secret)."""
    return File(APT_NO_PROXY, proxy.apt_no_proxy_script(settings), "755")


def client_config_path(account: Account) -> str:
    return f"{account.home}/.docker/config.json"


def socket_drop_in(settings: Settings) -> File:
    """0660 root:docker, nobody else: agents reach Docker through their policy sockets."""
    return File(SOCKET_DROP_IN, render("docker-socket.conf.j2"))


def policy_packages(settings: Settings) -> list[str]:
    """What the policy service runs on: Python with its standard library."""
    return ["python3"]


def policy_sockets(settings: Settings) -> list[policy.PolicySocket]:
    """The agent account's policy socket (SSH agents), then one per agent container: the
    host's docker_policy, plus the container's own; the workspace and declared volumes."""
    workspace = settings.agent_workspace
    sockets = [policy.PolicySocket(instance=policy.ACCOUNT, setting="docker_policy",
                                   allow=settings.docker_policy, binds=[workspace],
                                   kind="account")]  # fmt: skip
    for container in settings.agent_containers:
        volumes = [v.split(":", 1)[0] for v in container.volumes if v.startswith("/")]
        sockets.append(policy.PolicySocket(
            instance=policy.container_instance(container.name),
            setting=f"agent_containers[{container.name}].docker_policy",
            allow=settings.docker_policy.union(container.docker_policy),
            binds=[workspace, *volumes],
            kind="container",
        ))  # fmt: skip
    return sockets


def policy_socket(settings: Settings, container: str) -> str:
    """The host path of the policy socket an agent container mounts as its Docker socket."""
    return policy.socket_path(policy.container_instance(container))


def policy_program() -> list[File]:
    """The enforcing service's code: the package agenthost.policy as it is here."""
    source = package_files("agenthost.policy")
    return [File(f"{policy.PROGRAM_DIR}/policy/{name}", (source / name).read_text())
            for name in ("__init__.py", "rules.py", "server.py")]  # fmt: skip


def policy_files(settings: Settings, account: Account) -> list[File]:
    """The program, its template units and one policy file per socket."""
    context = {"user": settings.agent_user, "group": account.group,
               "socket_dir": policy.SOCKET_DIR, "config_dir": policy.CONFIG_DIR,
               "program_dir": policy.PROGRAM_DIR}  # fmt: skip
    units = [File(f"/etc/systemd/system/{policy.UNIT}@.{kind}",
                  render(f"{policy.UNIT}@.{kind}.j2", **context))
             for kind in ("socket", "service")]  # fmt: skip
    configs = [File(s.config_path, s.config()) for s in policy_sockets(settings)]
    return [*policy_program(), *units, *configs]


def client_config(settings: Settings) -> dict:
    """The keys agenthost owns in the agent's ~/.docker/config.json: the proxies, and the
    context that points its `docker` (SSH sessions, su, cron, Jenkins' remoting) at its policy
    socket."""
    return {**proxy.client_config(settings), "currentContext": policy.CONTEXT}


def docker_context(settings: Settings, account: Account) -> File:
    """The agent's Docker context: its policy socket, for every way it runs `docker`."""
    meta = {"Name": policy.CONTEXT, "Metadata": {},
            "Endpoints": {"docker": {"Host": f"unix://{policy_sockets(settings)[0].path}",
                                     "SkipTLSVerify": False}}}  # fmt: skip
    digest = hashlib.sha256(policy.CONTEXT.encode()).hexdigest()  # the CLI's directory name
    path = f"{account.home}/.docker/contexts/meta/{digest}/meta.json"
    return File(path, json.dumps(meta, sort_keys=True) + "\n", "644", settings.agent_user,
                account.group)


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


def audit_rules(settings: Settings, system: engine.System) -> File:
    """docker_audit's rules file (augenrules loads it), for the engine this host has."""
    content = audit.rules_file(settings.docker_audit, settings.docker_source, system.version)
    return File(audit.RULES_FILE, content, "640")


def audit_tmpfiles(settings: Settings) -> File:
    """/run/containerd at boot, before the rules that watch in it load."""
    return File(audit.TMPFILES, audit.TMPFILES_CONTENT if settings.docker_audit else None)


def audit_packages(settings: Settings) -> list[str]:
    return ["auditd"] if settings.docker_audit else []


def files(settings: Settings, account: Account, system: engine.System) -> list[File]:
    """Every file agenthost owns on the host, present or absent (not the subid files, which
    hold other users' lines too, nor agent containers' secrets, which only the deploy machine
    has)."""
    return [
        audit_tmpfiles(settings),
        audit_rules(settings, system),
        daemon_json(settings),
        *proxy_files(settings, account),
        apt_proxy(settings),
        apt_no_proxy(settings),  # after the drop-in that names it: retiring removes that first
        socket_drop_in(settings),
        *policy_files(settings, account),
        docker_context(settings, account),
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
    return [*engine_packages, *policy_packages(settings), *audit_packages(settings),
            *agent_packages(settings)]


def absent_packages(settings: Settings, system: engine.System) -> list[str]:
    return engine.engine(settings, system).absent


def units(settings: Settings) -> list[str]:
    """Units that must be enabled and active."""
    sockets = [s.unit for s in policy_sockets(settings)]
    audit_units = ["auditd.service"] if settings.docker_audit else []
    return ["docker.service", *sockets, f"{PRUNE_UNIT}.timer", *audit_units]


def docker_group(settings: Settings) -> list[str]:
    """Users who must be in the docker group: not the agent, whose access is its policy."""
    return [*settings.docker_users]

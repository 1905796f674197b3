"""Proxy settings as dockerd's environment and the Docker client's config."""

from __future__ import annotations

import json

from agenthost.paths import APT_NO_PROXY
from agenthost.settings import Settings


def variables(settings: Settings) -> dict[str, str]:
    """Environment for dockerd, upper- and lower-case as tools differ in which they read."""
    values = {
        "HTTP_PROXY": settings.docker_http_proxy,
        "HTTPS_PROXY": settings.docker_https_proxy,
        "NO_PROXY": ",".join(settings.docker_no_proxy) or None,
    }
    env = {}
    for name, value in values.items():
        if value:
            env[name] = env[name.lower()] = value
    return dict(sorted(env.items()))


def systemd_quote(value: str) -> str:
    """A value for a unit's Environment=: quoted, with `%` specifiers escaped as `%%`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def env_file(env: dict[str, str]) -> str:
    """An EnvironmentFile= body: it expands no `%` specifiers, but `$` and quotes are special."""
    lines = []
    for name, value in env.items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        lines.append(f'{name}="{escaped}"\n')
    return "".join(lines)


def client_config(settings: Settings) -> dict:
    """~/.docker/config.json proxies, so builds and containers inherit them."""
    proxies = {
        "httpProxy": settings.docker_http_proxy,
        "httpsProxy": settings.docker_https_proxy,
        "noProxy": ",".join(settings.docker_no_proxy) or None,
    }
    return {"proxies": {"default": {k: v for k, v in proxies.items() if v}}}


def client_config_json(settings: Settings) -> str:
    return json.dumps(client_config(settings), indent=2, sort_keys=True) + "\n"


def apt_conf(settings: Settings) -> str | None:
    """apt.conf lines sending apt through the proxies; what docker_no_proxy names goes direct,
    decided by APT_NO_PROXY (apt's own per-host setting knows exact names only)."""
    if not settings.docker_apt_proxy:
        return None
    schemes = [
        (scheme, url)
        for scheme, url in (
            ("http", settings.docker_http_proxy),
            ("https", settings.docker_https_proxy),
        )  # fmt: skip
        if url
    ]
    if not schemes:
        return None
    lines = [f'Acquire::{scheme}::Proxy "{url}";' for scheme, url in schemes]
    if apt_no_proxy_patterns(settings.docker_no_proxy):
        lines += [f'Acquire::{scheme}::Proxy-Auto-Detect "{APT_NO_PROXY}";'
                  for scheme, _ in schemes]  # fmt: skip
    return "".join(f"{line}\n" for line in ["// Managed by agenthost from docker_*_proxy.", *lines])


def apt_no_proxy_patterns(entries: list[str]) -> list[str]:
    """docker_no_proxy as shell `case` patterns for a URL's host, matched as Docker (Go) matches
    them: `name` is that name and its subdomains, `.name` and `*.name` its subdomains, `*` all.
    Networks (CIDR), IPv6 and entries with a port are not matched for apt. (Entries hold no
    quote: settings allow [A-Za-z0-9.*_%[]:/-] only.)"""
    patterns = []
    for entry in entries:
        if entry == "*":
            patterns.append("*")
        elif not set("/:[]") & set(entry):
            name = entry.lower().removeprefix("*")
            sub = f"*'.{name.lstrip('.')}'"
            patterns += [sub] if name.startswith(".") else [f"'{name}'", sub]
    return patterns


def apt_no_proxy_script(settings: Settings) -> str | None:
    """apt's Proxy-Auto-Detect program (given the URL): DIRECT past the proxy for what
    docker_no_proxy names, nothing (apt's Acquire::*::Proxy) otherwise. None when unused."""
    conf = apt_conf(settings)
    patterns = apt_no_proxy_patterns(settings.docker_no_proxy)
    if not conf or not patterns:
        return None
    return (
        "#!/bin/sh\n# Managed by agenthost from docker_no_proxy: apt's Proxy-Auto-Detect.\n"
        'host=${1#*://}; host=${host%%/*}; host=${host##*@}; host=${host%:*}\n'
        'case "$(printf %s "$host" | tr A-Z a-z)" in\n'
        f"    {'|'.join(patterns)}) echo DIRECT ;;\n"
        "esac\n"
    )

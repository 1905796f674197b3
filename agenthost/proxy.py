"""Proxy settings as dockerd's environment and the Docker client's config."""

from __future__ import annotations

import json

from agenthost import settings as settings_
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


def has_credentials(settings: Settings) -> bool:
    urls = [settings.docker_http_proxy, settings.docker_https_proxy]
    return any(map(settings_.has_credentials, urls))


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
    """apt.conf lines sending apt through the proxies (hosts of docker_no_proxy direct)."""
    if not settings.docker_apt_proxy:
        return None
    lines = [
        f'Acquire::{scheme}::Proxy "{url}";'
        for scheme, url in (
            ("http", settings.docker_http_proxy),
            ("https", settings.docker_https_proxy),
        )  # fmt: skip
        if url
    ]
    if not lines:
        return None
    # apt knows exact host names only: no domains, wildcards or networks.
    hosts = [
        h for h in settings.docker_no_proxy if not h.startswith(".") and not set("*/") & set(h)
    ]
    lines += [
        f'Acquire::{scheme}::Proxy::{h} "DIRECT";' for h in hosts for scheme in ("http", "https")
    ]
    return "".join(f"{line}\n" for line in ["// Managed by agenthost from docker_*_proxy.", *lines])

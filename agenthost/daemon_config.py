"""daemon.json: hardened defaults, the operator's merge, and checks dockerd 20.10 cannot do."""

from __future__ import annotations

import json
from typing import Any

from agenthost.credentials import masked

# Each default has an opt-out through docker_daemon_options (false, or null to drop the key).
DEFAULTS: dict[str, Any] = {
    "icc": False,
    "live-restore": True,
    "log-driver": "json-file",
    "log-opts": {"max-file": "3", "max-size": "10m"},
    "no-new-privileges": True,
    "userland-proxy": False,
}

# Keys the packaged systemd units already pass as dockerd flags (`-H fd://`, docker-ce's
# `--containerd=...`): the same key in daemon.json stops dockerd from starting.
UNIT_FLAG_KEYS = {"hosts": "-H fd://", "containerd": "--containerd"}

_LIST, _DICT, _STR, _BOOL, _INT = list, dict, str, bool, int
# Known daemon.json keys and their JSON types (dockerd 20.10 to 27), for engines without
# `dockerd --validate`.
SCHEMA: dict[str, type | tuple[type, ...]] = {
    "allow-nondistributable-artifacts": _LIST, "api-cors-header": _STR,
    "authorization-plugins": _LIST, "bip": _STR, "bridge": _STR, "builder": _DICT,
    "cgroup-parent": _STR, "containerd": _STR, "containerd-namespace": _STR,
    "containerd-plugin-namespace": _STR, "data-root": _STR, "debug": _BOOL,
    "default-address-pools": _LIST, "default-cgroupns-mode": _STR, "default-gateway": _STR,
    "default-gateway-v6": _STR, "default-ipc-mode": _STR, "default-network-opts": _DICT,
    "default-runtime": _STR, "default-shm-size": _STR, "default-ulimits": _DICT, "dns": _LIST,
    "dns-opts": _LIST, "dns-search": _LIST, "exec-opts": _LIST, "exec-root": _STR,
    "experimental": _BOOL, "features": _DICT, "fixed-cidr": _STR, "fixed-cidr-v6": _STR,
    "group": _STR, "hosts": _LIST, "icc": _BOOL, "init": _BOOL, "init-path": _STR,
    "insecure-registries": _LIST, "ip": _STR, "ip-forward": _BOOL, "ip-masq": _BOOL,
    "ip6tables": _BOOL, "iptables": _BOOL, "ipv6": _BOOL, "labels": _LIST,
    "live-restore": _BOOL, "log-driver": _STR, "log-format": _STR, "log-level": _STR,
    "log-opts": _DICT, "max-concurrent-downloads": _INT, "max-concurrent-uploads": _INT,
    "max-download-attempts": _INT, "metrics-addr": _STR, "mtu": _INT,
    "no-new-privileges": _BOOL, "node-generic-resources": _LIST, "oom-score-adjust": _INT,
    "pidfile": _STR, "proxies": _DICT, "raw-logs": _BOOL, "registry-mirrors": _LIST,
    "runtimes": _DICT, "seccomp-profile": _STR, "selinux-enabled": _BOOL,
    "shutdown-timeout": _INT, "storage-driver": _STR, "storage-opts": _LIST,
    "swarm-default-advertise-addr": _STR, "tls": _BOOL, "tlscacert": _STR, "tlscert": _STR,
    "tlskey": _STR, "tlsverify": _BOOL, "userland-proxy": _BOOL, "userland-proxy-path": _STR,
    "userns-remap": _STR,
}  # fmt: skip


class DaemonConfigError(ValueError):
    """docker_daemon_options holds something dockerd would refuse."""


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """`options`, once it holds no unknown key, wrong type or key the systemd unit already sets
    as a flag."""
    problems = []
    for key, value in options.items():
        if key in UNIT_FLAG_KEYS:
            problems.append(
                f"{key!r} is set by the docker unit as `{UNIT_FLAG_KEYS[key]}`; dockerd refuses"
                " to start when a key is both a flag and in daemon.json"
            )
        elif key == "userns-remap":
            problems.append("'userns-remap' is managed by docker_userns_remap")
        elif key not in SCHEMA:
            problems.append(f"{key!r} is not a known daemon.json key")
        elif value is not None and not _is_type(value, SCHEMA[key]):
            got = masked({key: value})[key]
            problems.append(f"{key!r} must be a JSON {SCHEMA[key].__name__}, got {got!r}")
    if problems:
        raise DaemonConfigError("; ".join(problems))
    return options


def _is_type(value: Any, expected: type) -> bool:
    # bool is an int in Python, never in dockerd's config.
    if expected is int and isinstance(value, bool):
        return False
    return isinstance(value, expected)


def merged(userns_remap: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """The daemon.json content: defaults, userns-remap, then the operator's options over them.

    Dict values merge one level deep (log-opts), and null removes a key.
    """
    config = json.loads(json.dumps(DEFAULTS))
    if userns_remap:
        config["userns-remap"] = userns_remap
    for key, value in options.items():
        if value is None:
            config.pop(key, None)
        elif isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def render(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True) + "\n"

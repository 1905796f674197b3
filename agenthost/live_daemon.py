"""Which options the running dockerd has that differ from its daemon.json on disk: what a file
changed without a restart leaves. Read with one command (PROBE, with daemon.json) only on a
host whose files differ from those last applied; pure but for that command's text.
"""

from __future__ import annotations

import json
from typing import Any

# docker info, then the default bridge's options (icc lives there, not in docker info).
PROBE = ("docker info --format '{{json .}}' 2>/dev/null; echo;"
         " docker network inspect bridge --format '{{json .Options}}' 2>/dev/null")  # fmt: skip
# dockerd's own value of each key it reports, when daemon.json does not set it.
DEFAULTS: dict[str, Any] = {
    "icc": True, "live-restore": False, "debug": False, "log-driver": "json-file",
    "no-new-privileges": False, "userns-remap": False, "labels": [], "registry-mirrors": [],
    "experimental": False,
}  # fmt: skip


def live_options(info: dict[str, Any], bridge: dict[str, str]) -> dict[str, Any]:
    """What dockerd runs with, under daemon.json's keys (those `docker info` shows)."""
    security = " ".join(info.get("SecurityOptions") or [])
    return {
        "icc": bridge.get("com.docker.network.bridge.enable_icc", "true") == "true",
        "live-restore": info.get("LiveRestoreEnabled", False),
        "debug": info.get("Debug", False),
        "log-driver": info.get("LoggingDriver"),
        "no-new-privileges": "name=no-new-privileges" in security,
        "userns-remap": "name=userns" in security,
        "labels": info.get("Labels") or [],
        "registry-mirrors": (info.get("RegistryConfig") or {}).get("Mirrors") or [],
        "experimental": info.get("ExperimentalBuild", False),
    }


def differing(daemon_json: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """`key: runs X, daemon.json has Y` for each option that differs."""
    out = []
    for key, running in live.items():
        wanted = daemon_json.get(key, DEFAULTS[key])
        if key == "userns-remap":
            wanted = bool(wanted)  # a user name in the file; docker info says only on or off
        if key in ("labels", "registry-mirrors"):
            wanted, running = sorted(wanted), sorted(running)
        if wanted != running:
            out.append(f"{key}: runs {json.dumps(running)}, daemon.json has {json.dumps(wanted)}")
    return out


def explained(probe_output: str, daemon_json: str) -> str:
    """The differing options from PROBE's output and daemon.json's text, said in one line."""
    lines = [line for line in probe_output.splitlines() if line.strip()]
    try:
        info = json.loads(lines[0])
        bridge = json.loads(lines[1]) if len(lines) > 1 else {}
        found = differing(json.loads(daemon_json or "{}"), live_options(info, bridge or {}))
    except (ValueError, IndexError, AttributeError):
        return "an earlier configuration (docker info could not be read)"
    if not found:
        return "an earlier configuration (no option docker info shows differs from the file)"
    return "; ".join(found)

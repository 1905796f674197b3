"""Settings of the hosts pyinfra is deploying to, validated all at once, before any is touched.

The IO around the pure model: group_data/*.yaml, and the deploy machine's files that settings
name (agent secrets, image tarballs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import yaml
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import State

from agenthost.registry import RegistryAuthError, parse_auth
from agenthost.settings import Settings, SettingsError, validate

# Set while `agenthost drift` plans: it reads nothing from the deploy machine's local files
# (secrets, tarballs), which a machine that only checks the fleet need not have.
DRIFT_REPORT_FD = "AGENTHOST_DRIFT_FD"

_validated: WeakKeyDictionary[State, dict[str, Settings]] = WeakKeyDictionary()


class InvalidSettings(PyinfraError):
    """pyinfra prints its message without a traceback and stops before executing anything."""


def checking_drift() -> bool:
    return DRIFT_REPORT_FD in os.environ


def yaml_group_data(directory: Path, groups: list[str]) -> dict[str, Any]:
    """Data from group_data/<group>.yaml for `all` and then each of the host's groups."""
    merged: dict[str, Any] = {}
    for group in ["all", *groups]:
        for path in (directory / f"{group}.yaml", directory / f"{group}.yml"):
            if path.exists():
                loaded = yaml.safe_load(path.read_text()) or {}
                if not isinstance(loaded, dict):
                    raise SettingsError(f"{path}: expected a mapping of setting: value")
                merged.update(loaded)
    return merged


def missing_local_files(settings: Settings) -> list[str]:
    """A message for each file the settings name that this machine does not have."""
    named = [(f"docker_image_preload.{i}", path)
             for i, path in enumerate(settings.docker_image_preload)]  # fmt: skip
    named += [(f"agent_containers.{i}.env_file", spec.env_file)
              for i, spec in enumerate(settings.agent_containers) if spec.env_file]  # fmt: skip
    if settings.docker_registry_auth_file:
        named.append(("docker_registry_auth_file", settings.docker_registry_auth_file))
    return [f"{where} = {path!r}: no such file on this machine"
            for where, path in named if not Path(path).expanduser().is_file()]  # fmt: skip


def registry_auth_problems(settings: Settings) -> list[str]:
    """Why the registry credentials file is unfit: readable by others, or not the JSON shape."""
    path = settings.docker_registry_auth_file
    if not path or not Path(path).expanduser().is_file():
        return []
    where = f"docker_registry_auth_file = {path!r}"
    mode = Path(path).expanduser().stat().st_mode & 0o777
    if mode & 0o077:
        return [f"{where}: mode {mode:o}, must be 0600 (it holds passwords)"]
    try:
        registry_auth(settings)
    except RegistryAuthError as error:
        return [f"{where}: {error}"]
    return []


def registry_auth(settings: Settings) -> dict[str, tuple[str, str]]:
    """Logins by registry from the local credentials file (none without one)."""
    path = settings.docker_registry_auth_file
    return parse_auth(Path(path).expanduser().read_text()) if path else {}


def all_settings(state: State, group_data: Path = Path("group_data")) -> dict[str, Settings]:
    """Every host's settings by host name; raises naming each bad host, setting and value."""
    if state not in _validated:
        found, errors = {}, []
        for host in state.inventory:
            data = {**yaml_group_data(group_data, list(host.groups)), **host.data.dict()}
            try:
                found[host.name] = validate(host.name, data)
            except SettingsError as error:
                errors.append(str(error))
                continue
            if not checking_drift():
                problems = [*missing_local_files(found[host.name]),
                            *registry_auth_problems(found[host.name])]  # fmt: skip
                errors += [f"host {host.name}: {m}" for m in problems]
        if errors:
            raise InvalidSettings("invalid settings, no host was changed:\n" + "\n".join(errors))
        _validated[state] = found
    return _validated[state]

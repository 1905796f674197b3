"""Settings of the hosts pyinfra is deploying to, validated all at once, before any is touched.

The IO around the pure model: group_data/*.yaml, and the deploy machine's files that settings
name (agent secrets, image tarballs).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import yaml
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.api.state import State

from agenthost.registry import RegistryAuthError, parse_auth
from agenthost.settings import Settings, SettingsError, validate

# Set while `agenthost drift` plans: it reads nothing from the deploy machine's local files
# (secrets, tarballs), which a machine that only checks the fleet need not have.
DRIFT_REPORT_FD = "AGENTHOST_DRIFT_FD"

_validated: WeakKeyDictionary[State, dict[str, Settings]] = WeakKeyDictionary()
# The setting a problem is about: the words before its first `.` or ` = `.
SETTING = re.compile(r"^[a-z_]+(?=[. ])")


class InvalidSettings(PyinfraError):
    """pyinfra prints its message without a traceback and stops before executing anything."""


def invalid_settings(lines: Iterable[str]) -> InvalidSettings:
    """The error naming every problem; under pyinfra's CLI also one of its own errors, which it
    prints alone: not "pyinfra error in agenthost/hostdata.py line N", where no mistake is."""
    message = "invalid settings, no host was changed:\n" + "\n".join(lines)
    # Importing pyinfra_cli patches the standard library for gevent: only where it is loaded.
    if "pyinfra_cli" in sys.modules:
        return _cli_invalid_settings()(message)
    return InvalidSettings(message)


@functools.cache
def _cli_invalid_settings() -> type[InvalidSettings]:
    from pyinfra_cli.exceptions import CliError

    class CliInvalidSettings(CliError, InvalidSettings):
        pass

    return CliInvalidSettings


def checking_drift() -> bool:
    return DRIFT_REPORT_FD in os.environ


def yaml_group_data(
    directory: Path, groups: list[str], origins: dict[str, str] | None = None
) -> dict[str, Any]:
    """Data from group_data/<group>.yaml for `all` and then each of the host's groups; the file
    each setting comes from goes into `origins`."""
    merged: dict[str, Any] = {}
    for group in ["all", *groups]:
        for path in (directory / f"{group}.yaml", directory / f"{group}.yml"):
            if path.exists():
                try:
                    loaded = yaml.safe_load(path.read_text()) or {}
                except yaml.YAMLError as error:
                    raise SettingsError(f"{path}: not YAML: {_yaml_said(error)}") from None
                if not isinstance(loaded, dict):
                    raise SettingsError(f"{path}: expected a mapping of setting: value")
                merged.update(loaded)
                if origins is not None:
                    origins.update(dict.fromkeys(loaded, str(path)))
    return merged


def _yaml_said(error: yaml.YAMLError) -> str:
    """PyYAML's problem and where it is, on one line."""
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    return f"{getattr(error, 'problem', None) or error}{where}"


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
    """Every host's settings by host name, of the hosts pyinfra acts on (within --limit);
    raises naming each bad host, setting and value."""
    if state not in _validated:
        hosts = [host for host in state.inventory if state.is_host_in_limit(host)]
        found, errors = validate_hosts(hosts, group_data, local_files=not checking_drift())
        if errors:
            raise invalid_settings(errors)
        _validated[state] = found
    return _validated[state]


def validate_hosts(
    hosts: Iterable[Host], group_data: Path, local_files: bool = True
) -> tuple[dict[str, Settings], list[str]]:
    """Each valid host's settings by name, and every problem of every host (with the file a
    setting came from when that is group_data/*.yaml); `local_files`: also the deploy machine's
    files the settings name."""
    found, errors = {}, []
    for host in hosts:
        origins: dict[str, str] = {}
        try:
            data = {**yaml_group_data(group_data, list(host.groups), origins), **host.data.dict()}
            found[host.name] = validate(host.name, data)
        except SettingsError as error:
            errors += located(str(error), host.name, origins, set(host.data.dict()))
            continue
        if local_files:
            problems = [*missing_local_files(found[host.name]),
                        *registry_auth_problems(found[host.name])]  # fmt: skip
            errors += [f"host {host.name}: {m}" for m in problems]
    return found, list(dict.fromkeys(errors))  # a YAML file's own problem is said once


def located(message: str, name: str, origins: dict[str, str], overridden: set[str]) -> list[str]:
    """The lines of a SettingsError, each with the YAML file its setting came from (unless the
    inventory's own data overrides it): `host H: group_data/all.yaml: setting = value: why`."""
    prefix, lines = f"host {name}: ", []
    for line in message.splitlines():
        problem = line.removeprefix(prefix)
        setting = SETTING.match(problem)
        origin = setting and setting[0] not in overridden and origins.get(setting[0])
        lines.append(f"{prefix}{origin}: {problem}" if origin else line)
    return lines

"""Settings of the hosts pyinfra is deploying to, validated all at once, before any is touched."""

from __future__ import annotations

from pathlib import Path
from weakref import WeakKeyDictionary

from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import State

from agenthost.settings import Settings, SettingsError, validate, yaml_group_data

_validated: WeakKeyDictionary[State, dict[str, Settings]] = WeakKeyDictionary()


class InvalidSettings(PyinfraError):
    """pyinfra prints its message without a traceback and stops before executing anything."""


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
        if errors:
            raise InvalidSettings("invalid settings, no host was changed:\n" + "\n".join(errors))
        _validated[state] = found
    return _validated[state]

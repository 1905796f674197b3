"""Settings out of pyinfra's host data: our keys validated, pyinfra's connector keys left alone,
typos named; every problem of a host in one error that names host, setting and value."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Set
from typing import Any

from pydantic import ValidationError

from agenthost import safety
from agenthost.credentials import MASK, is_secret_key, masked, redact
from agenthost.settings.model import SETTING_NAMES, Settings

# Settings live in these namespaces; a key there that is not a setting is a typo.
OUR_PREFIXES = ("agent_", "docker_")


class SettingsError(ValueError):
    """Bad settings on one or more hosts; the message names each host, setting and value."""


@functools.cache  # reading the connectors' entry points costs ~10 ms, once per host otherwise
def _pyinfra_keys() -> frozenset[str]:
    from pyinfra.api.connectors import get_all_connectors

    keys: set[str] = set()
    for connector in get_all_connectors().values():
        keys.update(getattr(connector.data_cls, "__annotations__", {}))
    return frozenset(keys)


def split_data(data: dict[str, Any], pyinfra_keys: Set[str]) -> tuple[dict[str, Any], list[str]]:
    """Our settings out of a host's data, plus a message for each key that looks like a typo."""
    ours, unknown = {}, []
    for key, value in data.items():
        if key in SETTING_NAMES:
            ours[key] = value
        elif key.startswith("_") or key in pyinfra_keys:
            continue
        else:
            close = difflib.get_close_matches(key, SETTING_NAMES, n=1, cutoff=0.8)
            if close or key.startswith(OUR_PREFIXES):
                hint = f"did you mean {close[0]!r}?" if close else "it is not a setting"
                unknown.append(f"{shown(key, value)}: unknown setting, {hint}")
    return ours, unknown


def shown(where: str, value: Any) -> str:
    """`where = value` for a message, credentials and values of secret-named keys masked."""
    secret = any(is_secret_key(part) for part in where.split("."))
    return redact(f"{where} = {MASK if secret else masked(value)!r}")


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "settings"
    message = redact(error["msg"].removeprefix("Value error, "))
    if not error["loc"]:  # a rule across settings names them itself; the input is all of them
        return message
    return f"{shown(where, error.get('input'))}: {message}"


def validate(name: str, data: dict[str, Any], pyinfra_keys: Set[str] | None = None) -> Settings:
    """The settings of host `name`, or a SettingsError naming every bad setting and value."""
    ours, problems = split_data(data, _pyinfra_keys() if pyinfra_keys is None else pyinfra_keys)
    # Units, drop-ins, env files and the Dockerfile are line based: a newline adds a directive.
    problems += [f"{shown(where, value)}: control characters are not allowed"
                 for where, value in safety.control_characters(ours)]  # fmt: skip
    settings = None
    try:
        settings = Settings(**ours)
    except ValidationError as error:
        problems += [_describe(e) for e in error.errors(include_url=False)]
    if settings and data.get("ssh_user") == settings.agent_user:
        problems.append(
            f"agent_user = {settings.agent_user!r}: it is the user pyinfra connects as (ssh_user);"
            " the deploy manages the agent's keys and would lock that user out"
        )
    if problems:
        raise SettingsError("\n".join(f"host {name}: {problem}" for problem in problems))
    return settings

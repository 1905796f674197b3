"""Registry logins for image pulls, from the operator's root-only credentials file:
{"registry.example:5000": {"username": "...", "password": "..."}}. Pure: no IO."""

from __future__ import annotations

import base64
import json

DOCKER_HUB = "docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # the key docker's config uses for Hub


class RegistryAuthError(ValueError):
    """A credentials file that is not a mapping of registry to username and password."""


def registry_of(reference: str) -> str:
    """The registry an image reference is pulled from (docker's rule: a first component with a
    dot or a port, or localhost, is a registry; anything else is Docker Hub)."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def parse_auth(text: str) -> dict[str, tuple[str, str]]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RegistryAuthError(f"not JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise RegistryAuthError("expected {registry: {username, password}}")
    auths = {}
    for registry, entry in data.items():
        if not (isinstance(entry, dict) and {"username", "password"} <= set(entry)
                and all(isinstance(entry[k], str) for k in ("username", "password"))):  # fmt: skip
            raise RegistryAuthError(f"{registry}: expected {{username, password}} strings")
        auths[registry] = (entry["username"], entry["password"])
    return auths


def docker_config(registry: str, username: str, password: str) -> str:
    """A Docker client config.json holding one login, for one pull."""
    key = DOCKER_HUB_AUTH_KEY if registry == DOCKER_HUB else registry
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {key: {"auth": token}}}) + "\n"

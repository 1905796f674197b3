"""What is secret: the userinfo of a URL (user:password, or a token alone) in any text, and
the values of options named for a secret (tokens, passwords).

One rule for every use: a file holding credentials is written root-only and never shown or
diffed, and output, logs and errors carry them masked.
"""

from __future__ import annotations

import re
from typing import Any

# The userinfo of a URL (user:password, or a token alone): all of it is secret. It runs from
# "://" to the last "@" before the next space or quote, so that it holds every character RFC
# 3986 allows there (%-escapes, sub-delims !$&'()*+,;= and ":") and whatever an operator typed
# raw (spaces, quotes, "/", "@"); in a file or a repr it stops at the end of its line.
CREDENTIALS = re.compile(r"""(://)(?:[^\n@]|@(?=[^\s'"]*@))*@""")
# Options named for a secret (a log driver's splunk-token, a password): their values are.
SECRET_KEY = re.compile(r"token|password|passwd|secret|credential", re.IGNORECASE)
MASK = "***"
# scheme://[userinfo@]host[:port][/]; the userinfo ends at the last @ and may hold anything.
PROXY_URL = re.compile(r"^(?P<scheme>http|https|socks5)://(?:(?P<userinfo>.+)@)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?P<port>:\d{1,5})?/?$")
# What a URL's userinfo may hold raw (RFC 3986: unreserved, sub-delims, and %-escapes kept as
# they are, so a password the operator encoded stays as it was); anything else is encoded.
USERINFO_RAW = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2}")


def redact(text: str) -> str:
    """Text with the credentials of every URL in it replaced, fit for output and logs."""
    return CREDENTIALS.sub(rf"\1{MASK}@", text)


def has_credentials(text: str | None) -> bool:
    """Whether `text` (a URL, or a file's content) holds credentials that `redact` would mask."""
    return bool(text and CREDENTIALS.search(text))


def masked(value: Any) -> Any:
    """`value` with the value of every key named for a secret masked, at any depth."""
    if isinstance(value, dict):
        return {key: MASK if is_secret_key(key) else masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


def is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY.search(key))


def has_secrets(value: Any) -> bool:
    """Whether `value` (daemon.json's options, say) holds a key named for a secret."""
    return masked(value) != value


def proxy_url(value: str) -> str:
    """A proxy URL as every proxy client parses it, fit for apt's quoted configuration and
    systemd: user:password with every character RFC 3986 does not allow there percent-encoded
    (a quote, a backslash, a space, "/", "@", a "%" that starts no escape)."""
    match = PROXY_URL.match(value)
    if not match:
        raise ValueError(
            "expected a URL such as http://proxy.example:3128 (user:password may come first)"
        )
    if not match["userinfo"]:
        return value
    user, colon, password = match["userinfo"].partition(":")
    userinfo = _encode(user) + colon + _encode(password)
    return f"{match['scheme']}://{userinfo}@{value[match.start('host'):]}"


def _encode(part: str) -> str:
    """`part` percent-encoded (as UTF-8) wherever RFC 3986 does not allow it raw."""
    encoded, at = [], 0
    while at < len(part):
        raw = USERINFO_RAW.match(part, at)
        piece = raw[0] if raw else "".join(f"%{b:02X}" for b in part[at].encode())
        encoded.append(piece)
        at += len(raw[0]) if raw else 1
    return "".join(encoded)

"""What is secret in text: the userinfo of a URL (user:password, or a token alone).

One rule for every use: a file holding credentials is written root-only and never shown or
diffed, and output, logs and errors carry them masked.
"""

from __future__ import annotations

import re

# The userinfo of a URL, user:password or a token alone: all of it is secret.
# Up to the first @ after ://, within one quoted value: a password may hold / or a space.
CREDENTIALS = re.compile(r"(://)[^@'\"\n]+@")
# scheme://[userinfo@]host[:port][/]; the userinfo ends at the last @ and may hold anything.
PROXY_URL = re.compile(r"^(?P<scheme>http|https|socks5)://(?:(?P<userinfo>.+)@)?(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?P<port>:\d{1,5})?/?$")
# What a URL's userinfo must not hold raw; "%" stays, so a percent-encoded password is kept.
USERINFO_RESERVED = "/ ?#@[]"


def redact(text: str) -> str:
    """Text with the credentials of every URL in it replaced, fit for output and logs."""
    return CREDENTIALS.sub(r"\1***@", text)


def has_credentials(text: str | None) -> bool:
    """Whether `text` (a URL, or a file's content) holds credentials that `redact` would mask."""
    return bool(text and CREDENTIALS.search(text))


def proxy_url(value: str) -> str:
    """A proxy URL as every proxy client parses it: user:password with the characters that
    would end the userinfo percent-encoded."""
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
    return "".join(f"%{ord(c):02X}" if c in USERINFO_RESERVED else c for c in part)

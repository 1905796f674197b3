"""`docker run`'s grammar for what the settings give an agent container: published ports and
health checks. Read by the settings (to refuse a bad value before any host is touched) and by
agent_container (to make the arguments)."""

from __future__ import annotations

import re
import shlex

# A health check where neither the settings nor the image give one (CIS 5.27): a DooD agent
# reaches Docker through its socket; an inbound agent's process (--init's child) is alive.
DEFAULT_HEALTH = {
    "dood": ["CMD", "docker", "version"],
    "jenkins-inbound": ["CMD-SHELL", "grep -q . /proc/1/task/1/children"],
}
DEFAULT_ADDRESS = "127.0.0.1"
ADDRESS = r"[0-9]+(?:\.[0-9]+){3}|\[[0-9a-fA-F:.]+\]"  # IPv4 or [IPv6]
# [address:][host port:]container port[/protocol]
PORT = re.compile(
    rf"^(?:(?P<address>{ADDRESS}):)?"
    r"(?:(?P<host>[0-9-]*):)?"
    r"(?P<container>[0-9-]+(?:/(?:tcp|udp|sctp))?)$"
)


def publish(port: str) -> str:
    """A -p value that listens on 127.0.0.1 unless the spec names an address."""
    match = PORT.match(port)
    if not match:
        raise ValueError(f"{port!r} is not a port spec ([address:][host port:]container port)")
    if match["address"]:
        return port
    return f"{DEFAULT_ADDRESS}:{match['host'] or ''}:{match['container']}"


def health_args(test: list[str] | None, kind: str = "dood",
                image_has_one: bool = True) -> list[str]:  # fmt: skip
    """Docker's healthcheck test form (CMD ..., CMD-SHELL cmd, NONE) as `docker run` options;
    without one, the image's own HEALTHCHECK, else DEFAULT_HEALTH for the agent's kind."""
    if test is None:
        return [] if image_has_one else health_args(DEFAULT_HEALTH[kind])
    form, *rest = test
    if form == "NONE":
        return ["--no-healthcheck"]
    if form == "CMD" and rest:
        return ["--health-cmd", shlex.join(rest)]
    if form == "CMD-SHELL" and len(rest) == 1:
        return ["--health-cmd", rest[0]]
    raise ValueError(
        f"healthcheck {test!r}: expected [CMD, arg...], [CMD-SHELL, command] or [NONE]"
    )

"""Values that would hurt a host or that Docker would refuse, refused before any host is touched.

Pure rules used by the settings model; each raises ValueError saying what is allowed.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from agenthost import calendar as calendar_events
from agenthost.paths import BACKUP_DIR, WORK_DIR

# Shared or system trees: chowning one to the agent (0750) breaks other users or the system.
SYSTEM_DIRS = frozenset(
    "/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt /proc /root /run"
    " /sbin /srv /sys /tmp /usr /usr/local /var /var/backups /var/cache /var/lib /var/local"
    " /var/lock /var/log /var/mail /var/opt /var/run /var/spool /var/tmp /var/lib/agenthost"
    " /var/www".split()
)
# Trees no agent directory may be, or be inside: the system's own, the package manager's, the
# container engines' data, and agenthost's own state and backups.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/run", "/sbin", "/sys", "/usr",
                "/var/lib/docker", "/var/lib/containerd", "/var/run", "/root", "/var/lib/dpkg",
                "/var/lib/apt", "/var/cache/apt", BACKUP_DIR)  # fmt: skip
# Inside agenthost's state folder, only the default workspace's tree is the agent's.
WORKSPACE_TREE = f"{WORK_DIR}/workspace"
# Host paths no agent container may bind: the kernel's, devices, configuration, root's home,
# sockets (the real Docker socket is root), engines' data and agenthost's own.
VOLUME_TREES = ("/proc", "/sys", "/dev", "/etc", "/root", "/boot", "/run", "/var/run",
                "/var/lib/docker", "/var/lib/containerd", WORK_DIR, BACKUP_DIR)  # fmt: skip
# Only what a path needs; no space, quote, `:` (Docker's volume separator) or `..` trick.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._@+-]+(?:/[A-Za-z0-9._@+-]+)*$")
# Debian's static system accounts (base-passwd) and the ones services add; uid < 1000.
SYSTEM_USERS = frozenset(
    "root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats"
    " nobody _apt messagebus sshd systemd-network systemd-resolve systemd-timesync"
    " systemd-journal-remote systemd-coredump polkitd dnsmasq docker statd tss uuidd".split()
)
# distribution/reference's grammar: [domain[:port]/]path[:tag][@digest], lower-case path.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
# Debian policy 5.6.1 and 5.6.12: a name, and a version as [epoch:]upstream[-revision] that
# starts with a digit (apt's `name=version`).
_DEB_NAME = r"[a-z0-9][a-z0-9+.-]+"
_DEB_VERSION = r"[0-9][A-Za-z0-9.+~:-]*"
DEB_VERSION = re.compile(rf"^{_DEB_VERSION}$")
DEB_PACKAGE = re.compile(rf"^{_DEB_NAME}(?:={_DEB_VERSION})?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_KEY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$")
# Docker reserves these label namespaces; agenthost.* holds our spec and agent labels.
RESERVED_LABELS = ("agenthost.", "com.docker.", "io.docker.", "org.dockerproject.")
# A host, domain, .domain, *.domain, IP or CIDR, optionally with a port.
NO_PROXY_ENTRY = re.compile(r"^[A-Za-z0-9.*_%\[\]:/-]+$")
MEMORY = re.compile(r"^([0-9]+)([kmgKMG])$")
MEMORY_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}
MIN_MEMORY = 6 * 1024**2  # dockerd: "Minimum memory limit allowed is 6MB"
VOLUME_MODES = frozenset("ro rw z Z shared slave private rshared rslave rprivate nocopy".split())
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def control_characters(value: Any, where: str = "") -> list[tuple[str, Any]]:
    """(setting path, value) for every string in `value` that holds a control character."""
    if isinstance(value, str):
        return [(where, value)] if CONTROL.search(value) else []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    found = []
    for key, item in items:
        path = f"{where}.{key}" if where else str(key)
        if isinstance(key, str) and CONTROL.search(key):
            found.append((path, key))
        found += control_characters(item, path)
    return found


def agent_dir(path: str) -> str:
    """A directory that may be chowned to the agent: absolute, plain, private to the agent."""
    if not SAFE_PATH.match(path) or posixpath.normpath(path) != path:
        raise ValueError(
            "expected a plain absolute path (letters, digits, ._@+-; no '..', '//' or trailing /)"
        )
    if path in SYSTEM_DIRS:
        raise ValueError(f"{path} is a system or shared directory; use a directory of its own")
    inside = within(path, SYSTEM_TREES)
    if inside:
        raise ValueError(f"{path} is {'' if inside == path else 'inside '}{inside}, which the"
                         " system, Docker or agenthost owns")  # fmt: skip
    if within(path, (WORK_DIR,)) and not within(path, (WORKSPACE_TREE,)):
        raise ValueError(f"{path} is agenthost's own state; use {WORKSPACE_TREE} or a directory"
                         " of its own")  # fmt: skip
    return path


def within(path: str, trees: tuple[str, ...]) -> str | None:
    """The first of `trees` that `path` is, or is inside."""
    return next((tree for tree in trees if (path + "/").startswith(tree + "/")), None)


def other_users_home(path: str | None, user: str) -> str | None:
    """The user whose /home/<user> `path` is or is inside, if not `user`."""
    parts = (path or "").split("/")
    owner = parts[2] if len(parts) > 2 and parts[1] == "home" else None
    return owner if owner and owner != user else None


def agent_user(name: str) -> str:
    if name in SYSTEM_USERS or name.startswith("systemd-"):
        raise ValueError(f"{name} is a system account; the agent needs an account of its own")
    return name


def image_reference(ref: str) -> str:
    if not IMAGE_REFERENCE.match(ref):
        raise ValueError(
            "not an image reference ([registry[:port]/]name[:tag][@sha256:digest], lower case)"
        )
    return ref


def deb_package(name: str) -> str:
    if not DEB_PACKAGE.match(name):
        raise ValueError(f"{name!r} is not a Debian package name (name or name=version)")
    return name


def memory_bytes(value: str) -> int | None:
    """A Docker memory size with a unit (k, m, g, any case) in bytes; None if it is not one."""
    match = MEMORY.match(value)
    return int(match[1]) * MEMORY_UNITS[match[2].lower()] if match else None


def memory(value: str) -> str:
    size = memory_bytes(value)
    if size is None or size < MIN_MEMORY:
        raise ValueError("expected a size with a unit (k, m, g) of at least 6m, e.g. 2g")
    return value


def port_numbers(spec: str, host_port: str | None, container_port: str) -> None:
    """Every port of a publish spec (ranges included) is within 1-65535."""
    for part in (host_port or "", container_port.split("/")[0]):
        for number in filter(None, part.split("-")):
            if not 1 <= int(number) <= 65535:
                raise ValueError(f"{spec!r}: port {number} is outside 1-65535")


def volume(spec: str) -> str:
    """host path or volume name : absolute container path [: mode,...]."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"{spec!r}: expected source:/container/path[:mode]")
    source, target, *mode = parts
    if not (SAFE_PATH.match(source) or VOLUME_NAME.match(source)):
        raise ValueError(f"{spec!r}: the source must be an absolute path or a volume name")
    if not SAFE_PATH.match(target):
        raise ValueError(f"{spec!r}: the container path must be absolute")
    if source in SYSTEM_DIRS or (within(source, VOLUME_TREES)
                                 and not within(source, (WORKSPACE_TREE,))):
        raise ValueError(f"{spec!r}: binding {source} hands the agent a system or Docker tree")
    if mode and not set(mode[0].split(",")) <= VOLUME_MODES:
        raise ValueError(f"{spec!r}: mode must be among {', '.join(sorted(VOLUME_MODES))}")
    return spec


def labels(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not LABEL_KEY.match(key):
            raise ValueError(f"label {key!r}: expected letters, digits and ._/-")
        if key.startswith(RESERVED_LABELS):
            reserved = ", ".join(RESERVED_LABELS)
            raise ValueError(f"label {key!r} is in a reserved namespace ({reserved})")
    return value


def environment(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not ENV_NAME.match(key):
            raise ValueError(f"environment name {key!r}: expected letters, digits and _")
    return value


def no_proxy(entries: list[str]) -> list[str]:
    for entry in entries:
        if not NO_PROXY_ENTRY.match(entry):
            raise ValueError(f"{entry!r} is not a host, domain, IP or CIDR")
    return entries


def calendar(value: str) -> str:
    """A timer's OnCalendar= that systemd accepts: refused here, not by the host mid-deploy."""
    try:
        return calendar_events.check(value)
    except calendar_events.CalendarError as error:
        raise ValueError(
            f"not a systemd calendar event (systemd.time(7)): {error}; {calendar_events.EXAMPLES}"
        ) from None

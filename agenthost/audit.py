"""The CIS Docker Benchmark's audit rules (1.1.3 to 1.1.18) for the engine a host has: pure.

Debian's docker.io and Docker's docker-ce put the same programs in different places (dockerd and
runc in /usr/sbin on Debian, /usr/bin from Docker), and Debian 13 moved units to /usr/lib: a
watch on a path the host does not have would watch nothing, so each source and release has its
own list. 1.1.13 (/etc/sysconfig/docker) is Red Hat's and never applies here.
"""

from __future__ import annotations

from typing import NamedTuple

RULES_FILE = "/etc/audit/rules.d/agenthost-docker.rules"
KEY = "agenthost-docker"  # our rules alone carry it: retiring them leaves an operator's be
# agenthost's rules leave the kernel (an operator's rules stay).
UNLOAD = f"if command -v auditctl >/dev/null; then auditctl -D -k {KEY} >/dev/null; fi"
# Watches that log every file Docker's storage writes and every container start (NOTES:
# ~330 KB of audit log per container run): only with docker_audit "all".
DATA_DIRS = ("/var/lib/docker", "/run/containerd")


# A watch's parent directory must exist when the rule loads, or auditctl stops there (and on
# Debian 13 auditd does not start at all): /run/containerd is made before the rules load at boot
# (audit-rules.service and auditd.service run after systemd-tmpfiles-setup), as containerd
# makes it.
TMPFILES = "/etc/tmpfiles.d/agenthost-audit.conf"
TMPFILES_CONTENT = "d /run/containerd 0711 root root -\n"


class Watch(NamedTuple):
    cis: str  # the benchmark's recommendation
    path: str


def _units(version: str) -> str:
    return "/lib/systemd/system" if version == "12" else "/usr/lib/systemd/system"


def watches(source: str, version: str) -> list[Watch]:
    """Every CIS 1.1.3-1.1.18 path this engine has on Debian `version` ("12" or "13")."""
    distro = source == "distro"
    sbin = "/usr/sbin" if distro else "/usr/bin"
    units = _units(version) if distro else "/lib/systemd/system"
    # containerd 1.6 and 1.7 (Debian 12 and 13, containerd.io) still carry the v1 shims.
    return [
        Watch("1.1.3", f"{sbin}/dockerd"),
        Watch("1.1.4", "/run/containerd"),
        Watch("1.1.5", "/var/lib/docker"),
        Watch("1.1.6", "/etc/docker"),
        Watch("1.1.7", f"{units}/docker.service"),
        Watch("1.1.8", "/run/containerd/containerd.sock"),
        Watch("1.1.9", f"{units}/docker.socket"),
        Watch("1.1.10", "/etc/default/docker"),
        Watch("1.1.11", "/etc/docker/daemon.json"),
        Watch("1.1.12", "/etc/containerd/config.toml"),
        Watch("1.1.14", "/usr/bin/containerd"),
        Watch("1.1.15", "/usr/bin/containerd-shim"),
        Watch("1.1.16", "/usr/bin/containerd-shim-runc-v1"),
        Watch("1.1.17", "/usr/bin/containerd-shim-runc-v2"),
        Watch("1.1.18", f"{sbin}/runc"),
    ]


def selected(mode: str | bool, source: str, version: str) -> list[Watch]:
    """The watches docker_audit asks for: "all", "no-data-dirs" (without DATA_DIRS), or none."""
    if not mode:
        return []
    found = watches(source, version)
    return found if mode == "all" else [w for w in found if w.path not in DATA_DIRS]


def rule(watch: Watch) -> str:
    """A watch as `auditctl -l` prints it back, so loaded rules compare line by line."""
    return f"-w {watch.path} -p rwxa -k {KEY}"


def rules_file(mode: str | bool, source: str, version: str) -> str | None:
    """The rules file's content (augenrules reads it), or None: no file."""
    chosen = selected(mode, source, version)
    if not chosen:
        return None
    lines = [f"## Managed by agenthost (docker_audit: {mode}): CIS Docker Benchmark 1.1"]
    for watch in chosen:
        lines += [f"# {watch.cis}", rule(watch)]
    return "\n".join(lines) + "\n"


def loaded(auditctl_list: list[str]) -> list[str]:
    """Our rules among `auditctl -l`'s lines, in order."""
    return [line.strip() for line in auditctl_list if line.strip().endswith(f"-k {KEY}")]


def wanted_rules(mode: str | bool, source: str, version: str) -> list[str]:
    return [rule(w) for w in selected(mode, source, version)]


# What a host without an audit subsystem of its own says (tasks.docker_audit's KernelAudit).
def refusal(host_name: str, kernel_audit: str | None) -> str | None:
    """Why docker_audit cannot apply on this host, or None when it can."""
    if kernel_audit == "own":
        return None
    why = (f"it runs in a container ({kernel_audit.split(':', 1)[1]}): the kernel and its audit "
           "rules are the machine's" if kernel_audit and kernel_audit.startswith("container:")
           else "its kernel has no audit support")  # fmt: skip
    return f"{host_name}: docker_audit needs the host's own kernel audit, but {why}; " \
           "set docker_audit: false for this host"

"""The Docker audit stage: docker_audit's CIS 1.1 rules in one file under /etc/audit/rules.d,
loaded by augenrules, with auditd installed and running. What the kernel has loaded is compared
with the file's rules, so a rule deleted by hand (from the file or with auditctl) is a change.
A host without a kernel audit of its own (a container) is refused before anything changes.
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import FactBase, OperationError, StringCommand, deploy, operation

from agenthost import audit, desired, engine
from agenthost.operations.apt import PackageVersions, package_names, packages_installed
from agenthost.operations.files import desired_file, desired_file_read
from agenthost.operations.plan import followed
from agenthost.operations.systemd import UnitState, unit_running
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import Settings
from agenthost.tasks.docker_engine import host_system


class KernelAudit(FactBase):
    """`own` when the host's kernel audits for it; `container:<kind>` in a container (the
    kernel and its audit rules are the machine's); `none` without kernel audit support."""

    command = (
        "if systemd-detect-virt --quiet --container; then"
        " echo container:$(systemd-detect-virt --container);"
        " elif [ -e /proc/self/loginuid ]; then echo own; else echo none; fi"
    )

    def process(self, output: list[str]) -> str | None:
        return output[0] if output else None


class AuditRules(FactBase):
    """The rules the kernel has loaded (`auditctl -l`), or None before auditd is installed."""

    command = "if command -v auditctl >/dev/null; then auditctl -l; else echo '#none'; fi"

    def process(self, output: list[str]) -> list[str] | None:
        return None if output == ["#none"] else output


def audit_supported(settings: Settings) -> None:
    """Refuse docker_audit, before any change, on a host whose kernel audit is not its own."""
    if settings.docker_audit:
        refusal = audit.refusal(host.name, read(KernelAudit))
        if refusal:
            raise OperationError(refusal)


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    files = [desired.audit_tmpfiles(settings), desired.audit_rules(settings, system)]
    if not settings.docker_audit:
        return [desired_file_read(file) for file in files]
    return [*(desired_file_read(file) for file in files),
            Read(PackageVersions, names=package_names(dict.fromkeys(["auditd"]))),
            Read(UnitState, unit="auditd.service"), Read(AuditRules)]  # fmt: skip


@declares(_reads)
@deploy("Docker audit")
def docker_audit(settings: Settings) -> None:
    system = host_system()
    rules = desired.audit_rules(settings, system)
    mode = settings.docker_audit
    if not mode:
        desired_file(desired.audit_tmpfiles(settings), f"No {audit.TMPFILES}")
        removed = desired_file(rules, "No audit rules of agenthost's")
        followed(name="The kernel has no audit rules of agenthost's", changed=[removed],
                 commands=[audit.UNLOAD])  # fmt: skip
        return
    packages_installed(name="auditd is installed", packages=dict.fromkeys(["auditd"]),
                       lock_timeout=settings.docker_apt_lock_timeout)  # fmt: skip
    desired_file(desired.audit_tmpfiles(settings), "/run/containerd is made at boot, before "
                 "the audit rules that watch in it load")
    desired_file(rules, f"Docker's audit rules are written (docker_audit: {mode})")
    unit_running(name="auditd is enabled and running", unit="auditd.service")
    wanted = audit.wanted_rules(mode, settings.docker_source, system.version)
    rules_loaded(name=f"The kernel audits Docker ({len(wanted)} CIS 1.1 watches)", wanted=wanted)


@operation()
def rules_loaded(wanted: list[str]):
    """The kernel has exactly `wanted` among agenthost's audit rules (augenrules loads the
    rules files again when it has not); a rule that fails to load fails the host."""
    found = audit.loaded(read(AuditRules) or [])
    if found == wanted:
        host.noop(f"{len(wanted)} audit rules are loaded")
        return
    yield "augenrules --load"
    # augenrules reports success even when auditctl refused a rule: count them.
    yield StringCommand(
        f"n=$(auditctl -l | grep -c -- {shlex.quote('-k ' + audit.KEY)});"
        f" [ \"$n\" -eq {len(wanted)} ] || {{ echo \"audit: $n of {len(wanted)} rules of"
        f" {audit.RULES_FILE} loaded; see augenrules --check\" >&2; exit 1; }}"
    )


"""dockerd's configuration: daemon.json, checked before it is written, and the one restart
that applies everything dockerd reads (stopping the agent containers first), rolled back when
dockerd does not come back healthy."""

import shlex

from pyinfra import host
from pyinfra.api import FactBase, StringCommand, deploy, operation

from agenthost import desired, engine, explain
from agenthost.agent_container import AGENT_LABEL
from agenthost.operations.files import desired_file_read, managed_file
from agenthost.operations.plan import Managed, changes
from agenthost.operations.systemd import UnitState
from agenthost.operations.writes import atomic_upload, temp_path, upload
from agenthost.paths import APPLIED_RECORD, APPLY_DIR, APPLY_UNIT, BACKUP_DIR, DAEMON_JSON
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.run import run_stamp
from agenthost.settings import Settings
from agenthost.templating import render

APPLY_SCRIPT = f"{APPLY_DIR}/docker-apply.sh"
APPLY_LOG = f"{APPLY_DIR}/docker-apply.log"


@operation()
def validated_daemon_json(content: str, mode: str = "644", secret: bool = False):
    """daemon.json holds `content`, checked by `dockerd --validate` where the engine has it."""
    commands = list(managed_file._inner(path=DAEMON_JSON, content=content, mode=mode,
                                        secret=secret))  # fmt: skip
    if not commands:
        return
    candidate = temp_path(f"{DAEMON_JSON}.candidate")
    yield StringCommand("install", "-m", "0600", "/dev/null", candidate)
    yield upload(content, candidate)
    # Debian 12's dockerd 20.10 has no --validate; the settings schema stands in for it there.
    yield (
        f"if dockerd --help 2>&1 | grep -q -- --validate; then"
        f" dockerd --validate --config-file {candidate} || {{ rm -f {candidate}; exit 1; }}; fi"
    )
    yield StringCommand("rm", "-f", candidate)
    yield from commands


def _json_reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    return [desired_file_read(desired.daemon_json(settings))]


@declares(_json_reads)
@deploy("Docker daemon configuration")
def docker_daemon_json(settings: Settings) -> list[Managed]:
    file = desired.daemon_json(settings)
    op = validated_daemon_json(
        name=f"{DAEMON_JSON} is generated from the settings, root:root {file.mode}",
        content=file.content,
        mode=file.mode,
        secret=file.secret,
    )
    return [Managed(op)]


class AppliedConfig(FactBase):
    """The checksum of dockerd's configuration files as they are now, and the one recorded
    after the last healthy apply (None when there is no record)."""

    def command(self, checksum: str) -> str:
        return f"{{ {checksum}\n}} && cut -d' ' -f1 {APPLIED_RECORD} 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, str | None]:
        return {"current": output[0], "applied": output[1] if len(output) > 1 else None}


def checksum_command(files: list[desired.DockerdFile]) -> str:
    """Shell that prints one checksum of every file dockerd reads (an absent one included, but
    for an unwanted one, and of an unwanted directory only the drop-ins in it); of a subid file,
    only the agent's lines, so another user's new range restarts nothing."""
    parts = []
    for file in files:
        path = shlex.quote(file.path)
        read = f"grep -s {shlex.quote('^' + file.lines)} {path}" if file.lines else f"cat {path}"
        if file.unwanted:
            drop_ins = f"find {path} -mindepth 1 -maxdepth 1 -name '*.conf'"
            parts.append(f"if [ -d {path} ]; then {drop_ins};"
                         f" elif [ -e {path} ]; then echo {path}; {read}; fi")  # fmt: skip
            continue
        parts.append(
            f"echo {path}; if [ -d {path} ]; then ls -1 {path};"
            f" elif [ -e {path} ]; then {read}; else echo absent; fi"
        )
    return "{ " + "; ".join(parts) + "; } | sha256sum | cut -d' ' -f1"


@operation()
def docker_applied(managed: list[Managed], files: list[desired.DockerdFile], timeout: int):
    """dockerd runs the files on disk, healthy, or runs the previous ones and the host fails.

    Restarts when this run changed a file, when the files differ from those last applied (a
    run stopped before its restart), or when dockerd is not running (a host whose dockerd
    cannot start from what is on disk is healed here, after its files are written). The
    restart runs in a transient unit that outlives the SSH connection, with the running agent
    containers stopped and then started again, after a rollback too. One operation: a
    converged host plans no change at all.

    Args:
        managed: the operations that may have changed what dockerd reads.
        files: what dockerd reads (desired.dockerd_files).
        timeout: seconds dockerd may take to start, and then to answer (docker_start_timeout).
    """
    checksum = checksum_command(files)
    state = read(AppliedConfig, checksum=checksum)
    changed_ops = [m for m in managed if changes(m.op)]
    running = read(UnitState, unit="docker.service")["active"]
    if not changed_ops and state["current"] == state["applied"] and running:
        host.noop("dockerd runs the configuration on disk")
        return
    # Which options the running dockerd has that the file on disk does not: read after the plan.
    explain.record(explain.Difference("dockerd", "runs daemon.json as on disk",
                                      "runs an earlier configuration" if running
                                      else "not running", probe=running))  # fmt: skip
    script = render(
        "docker-apply.sh.j2",
        checksum=checksum,
        paths=[file.path for file in files],
        undo=[m.undo for m in changed_ops if m.undo],
        record=APPLIED_RECORD,
        log=APPLY_LOG,
        backups=BACKUP_DIR,
        stamp=run_stamp(),
        daemon_json=DAEMON_JSON,
        timeout=timeout,
        agent_label=AGENT_LABEL,
    )
    yield StringCommand("install", "-d", "-m", "0700", APPLY_DIR)
    yield from atomic_upload(script, APPLY_SCRIPT, "700")
    yield (
        f"if command -v systemd-run >/dev/null && [ -d /run/systemd/system ]; then"
        f" systemd-run --unit={APPLY_UNIT} --wait --collect --quiet --service-type=oneshot"
        f" /bin/sh {APPLY_SCRIPT}; else /bin/sh {APPLY_SCRIPT}; fi;"
        f" status=$?; cat {APPLY_LOG} >&2; exit $status"
    )


def _restart_reads(settings: Settings, system: engine.System,
                   account: desired.Account) -> list[Read]:  # fmt: skip
    return [Read(AppliedConfig, checksum=checksum_command(desired.dockerd_files(settings))),
            Read(UnitState, unit="docker.service")]  # fmt: skip


@declares(_restart_reads)
@deploy("Docker restart")
def docker_restart(settings: Settings, managed: list[Managed]) -> None:
    docker_applied(
        name="Docker runs the configuration on disk (restarted if needed, else rolled back)",
        managed=managed,
        files=desired.dockerd_files(settings),
        timeout=settings.docker_start_timeout,
    )

from io import StringIO

from pyinfra.api import FileUploadCommand, StringCommand, deploy, operation
from pyinfra.operations.util import any_changed

from agenthost import desired
from agenthost.paths import DAEMON_JSON
from agenthost.settings import Settings
from agenthost.tasks.ops import Managed, backup_path, managed_file
from agenthost.templating import render

CANDIDATE = "/etc/docker/.daemon.json.agenthost"


@operation()
def validated_daemon_json(content: str):
    """daemon.json holds `content`, checked by `dockerd --validate` where the engine has it."""
    commands = list(managed_file._inner(path=DAEMON_JSON, content=content))
    if not commands:
        return
    yield FileUploadCommand(StringIO(content), CANDIDATE)
    # Debian 12's dockerd 20.10 has no --validate; the settings schema stands in for it there.
    yield (
        f"if dockerd --help 2>&1 | grep -q -- --validate; then"
        f" dockerd --validate --config-file {CANDIDATE} || {{ rm -f {CANDIDATE}; exit 1; }}; fi"
    )
    yield StringCommand("rm", "-f", CANDIDATE)
    yield from commands


@deploy("Docker daemon configuration")
def docker_daemon_json(settings: Settings) -> list[Managed]:
    op = validated_daemon_json(
        name=f"{DAEMON_JSON} is generated from the settings, root:root 0644",
        content=desired.daemon_json(settings).content,
    )
    return [Managed(op, DAEMON_JSON)]


@operation()
def docker_applied(managed: list[Managed], expect_userns: bool, expect_live_restore: bool):
    """dockerd runs the changed files, healthy, or runs the previous ones and the host fails."""
    changed = [
        m for m in managed if (m.op.did_change() if m.op.is_complete() else m.op.will_change)
    ]
    yield render(
        "docker-apply.sh.j2",
        restore=[(m.path, backup_path(m.path)) for m in changed if m.path],
        undo=[m.undo for m in changed if m.undo],
        expect_userns=str(expect_userns).lower(),
        expect_live_restore=str(expect_live_restore).lower(),
    )


@deploy("Docker restart")
def docker_restart(settings: Settings, managed: list[Managed]) -> None:
    docker_applied(
        name="Docker runs the new configuration (one restart, rolled back if unhealthy)",
        managed=managed,
        expect_userns=settings.docker_userns_remap,
        expect_live_restore=bool(settings.daemon_json().get("live-restore")),
        _if=any_changed(*(m.op for m in managed)),
    )

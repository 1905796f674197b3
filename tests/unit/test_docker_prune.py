"""The clean-up timer: what it removes, and its units as operations (facts in, commands out)."""

import hashlib

from agenthost import desired
from agenthost.agent_container import AGENT_LABEL
from agenthost.prune import prune_commands
from agenthost.settings import Settings
from agenthost.tasks.basics import unit_file
from agenthost.templating import render
from tests.unit.harness import run_op

SERVICE, TIMER = desired.prune_units(Settings())


def test_prune_spares_tagged_images_agent_containers_and_recent_leftovers():
    commands = prune_commands("168h")
    assert [command[:3] for command in commands] == [
        ["docker", "container", "prune"],
        ["docker", "image", "prune"],
        ["docker", "builder", "prune"],
    ]
    for command in commands:
        assert "--force" in command
        assert "until=168h" in command
        assert "--all" not in command and "-a" not in command  # dangling images only
        assert "--volumes" not in command
    assert f"label!={AGENT_LABEL}" in commands[0]


def test_units_run_every_prune_on_the_schedule():
    service = render(
        "agenthost-docker-prune.service.j2", until="24h", commands=prune_commands("24h")
    )
    assert service.count("\nExecStart=docker ") == 3
    assert (
        "ExecStart=docker container prune --force --filter until=24h"
        " --filter 'label!=agenthost.agent'\n"
    ) in service
    assert "Type=oneshot" in service
    timer = render("agenthost-docker-prune.timer.j2", schedule="*-*-* 03:00:00")
    assert "OnCalendar=*-*-* 03:00:00" in timer and "WantedBy=timers.target" in timer


def on_host(file: desired.File, content: str | None) -> dict:
    """The facts of a host whose unit file `file` holds `content` (None: no such file)."""
    sha256 = content and hashlib.sha256(content.encode()).hexdigest()
    found = content and {"mode": int(file.mode), "user": "root", "group": "root", "sha256": sha256}
    return {"ManagedFileState": {file.path: found}}


def test_units_as_desired_plan_no_change_not_even_a_reload():
    for file, restart in ((SERVICE, None), (TIMER, "agenthost-docker-prune.timer")):
        result = run_op(unit_file, on_host(file, file.content), file=file, restart=restart)
        assert result.commands == [] and result.noops == [f"{file.path} is up to date"]


def test_a_new_schedule_is_written_reloaded_and_followed_in_one_operation():
    result = run_op(unit_file, on_host(TIMER, "[Timer]\nOnCalendar=weekly\n"), file=TIMER,
                    restart="agenthost-docker-prune.timer")  # fmt: skip
    assert result.uploads and list(result.uploads.values()) == [TIMER.content]
    assert result.commands[-2:] == [
        "systemctl daemon-reload", "systemctl try-restart agenthost-docker-prune.timer",
    ]  # fmt: skip


def test_a_new_service_is_written_then_reloaded():
    result = run_op(unit_file, on_host(SERVICE, None), file=SERVICE)
    assert list(result.uploads.values()) == [SERVICE.content]
    assert result.commands[-1] == "systemctl daemon-reload"
    assert not any("restart" in command for command in result.commands)

"""The clean-up timer: what it removes, and its units as operations (facts in, commands out)."""

import hashlib
import importlib

from agenthost import desired
from agenthost.agent_container import AGENT_LABEL
from agenthost.operations.files import files_applied
from agenthost.prune import prune_commands
from agenthost.settings import Settings
from agenthost.templating import render
from tests.unit.harness import run_op

SERVICE, TIMER = desired.prune_units(Settings())
# The module: agenthost.tasks names the stage's function docker_prune too.
docker_prune_stage = importlib.import_module("agenthost.tasks.docker_prune")


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


RELOAD = ["systemctl daemon-reload"]
RESTART = ["systemctl daemon-reload", "systemctl try-restart agenthost-docker-prune.timer"]


def test_units_as_desired_plan_no_change_not_even_a_reload():
    for file, then in ((SERVICE, RELOAD), (TIMER, RESTART)):
        result = run_op(files_applied, on_host(file, file.content), files=[file], then=then)
        assert result.commands == [] and f"{file.path} is up to date" in result.noops


def test_a_new_schedule_is_written_reloaded_and_followed_in_one_operation():
    result = run_op(files_applied, on_host(TIMER, "[Timer]\nOnCalendar=weekly\n"),
                    files=[TIMER], then=RESTART)  # fmt: skip
    assert list(result.uploads.values()) == [TIMER.content]
    assert result.commands[-2:] == RESTART


def test_a_new_service_is_written_then_reloaded():
    result = run_op(files_applied, on_host(SERVICE, None), files=[SERVICE], then=RELOAD)
    assert list(result.uploads.values()) == [SERVICE.content]
    assert result.commands[-1] == "systemctl daemon-reload"
    assert not any("restart" in command for command in result.commands)


def test_the_clean_up_stage_plans_no_conditional_step(monkeypatch):
    """Every reload and restart is a command of the operation that needs it: a host that has
    the units plans no change, not even a conditional one (which makes pyinfra ask)."""
    calls = []
    for name in ("files_applied", "unit_running"):
        monkeypatch.setattr(docker_prune_stage, name,
                            lambda _op=name, **kwargs: calls.append((_op, kwargs)))  # fmt: skip
    docker_prune_stage.docker_prune._inner(Settings())
    assert [name for name, _ in calls] == ["files_applied", "files_applied", "unit_running"]
    assert not any("_if" in kwargs for _, kwargs in calls)
    service, timer = (kwargs for name, kwargs in calls if name == "files_applied")
    assert (service["files"], service["then"]) == ([SERVICE], RELOAD)
    assert (timer["files"], timer["then"]) == ([TIMER], RESTART)

from agenthost.agent_container import AGENT_LABEL
from agenthost.prune import prune_commands
from agenthost.templating import render


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

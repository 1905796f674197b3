"""The Docker proxy stage: dockerd's proxy drop-in and its root-only credentials file (applied
by the one restart), and the agent's Docker client configured with the same proxies and its
policy context, its own logins kept."""

import json

from pyinfra.api import deploy
from pyinfra.facts.files import FileContents

from agenthost import desired, engine
from agenthost.operations.files import (
    Directory,
    desired_file,
    desired_file_read,
    directory,
    json_keys,
)
from agenthost.operations.plan import Managed
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read
from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    return [
        *(desired_file_read(file) for file in desired.proxy_files(settings, account)),
        # The proxies' credentials, docker logins.
        Read.secret(FileContents, path=desired.client_config_path(account)),
        Read(Directory, path=f"{account.home}/.docker"),
    ]


@declares(_reads)
@deploy("Docker proxy")
def docker_proxy(settings: Settings) -> list[Managed]:
    account = agent_account(settings)
    drop_in, env_file, client = desired.proxy_files(settings, account)
    drop_in_op = desired_file(
        drop_in,
        "dockerd's proxy drop-in is configured"
        if drop_in.content
        else "dockerd has no proxy drop-in",
    )
    env_file_op = desired_file(
        env_file,
        "dockerd's proxy credentials are root-only"
        if env_file.content
        else "No proxy credentials file",
    )
    home = account.home
    directory(
        name=f"{home}/.docker belongs to {settings.agent_user}",
        path=f"{home}/.docker",
        user=settings.agent_user,
        group=account.group,
        mode="700",
    )
    json_keys(
        name=f"{settings.agent_user}'s Docker client uses the same proxies and its policy"
        " context, its logins kept",
        path=client.path,
        keys=json.loads(client.content),
        mode=client.mode,
        user=client.user,
        group=client.group,
    )
    return [Managed(drop_in_op), Managed(env_file_op)]

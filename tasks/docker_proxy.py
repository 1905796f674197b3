from pyinfra.api import deploy
from pyinfra.operations import files

from agenthost import proxy
from agenthost.paths import PROXY_DROP_IN as DROP_IN
from agenthost.paths import PROXY_ENV_FILE as ENV_FILE
from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account
from agenthost.tasks.ops import Managed, managed_file, managed_file_absent
from agenthost.templating import render


@deploy("Docker proxy")
def docker_proxy(settings: Settings) -> list[Managed]:
    env = proxy.variables(settings)
    secret = proxy.has_credentials(settings)
    if not env:
        drop_in = managed_file_absent(name="dockerd has no proxy drop-in", path=DROP_IN)
    else:
        drop_in = managed_file(
            name="dockerd's proxy drop-in is configured",
            path=DROP_IN,
            content=render(
                "http-proxy.conf.j2",
                env_file=ENV_FILE if secret else None,
                assignments=[proxy.systemd_quote(f"{k}={v}") for k, v in env.items()],
            ),
        )
    if secret:
        env_file = managed_file(
            name="dockerd's proxy credentials are root-only",
            path=ENV_FILE,
            content=proxy.env_file(env),
            mode="600",
            secret=True,
        )
    else:
        env_file = managed_file_absent(name="No proxy credentials file", path=ENV_FILE)
    account = agent_account(settings)
    client = f"{account.home}/.docker/config.json"
    files.directory(
        name=f"{account.home}/.docker belongs to {settings.agent_user}",
        path=f"{account.home}/.docker",
        user=settings.agent_user,
        group=account.group,
        mode="700",
    )
    managed_file(
        name=f"{settings.agent_user}'s Docker client uses the same proxies",
        path=client,
        content=proxy.client_config_json(settings),
        mode="600",
        user=settings.agent_user,
        group=account.group,
        secret=True,
    )
    return [Managed(drop_in, DROP_IN), Managed(env_file, ENV_FILE)]

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Users
from pyinfra.operations import server

from agenthost.desired import Account
from agenthost.settings import Settings


def agent_account(settings: Settings) -> Account:
    """The agent's home and group: the settings, else what an existing user has, else defaults."""
    found = host.get_fact(Users).get(settings.agent_user) or {}
    home = settings.home(found.get("home"))
    group = found.get("group") or settings.agent_user
    return Account(home, group)


@deploy("Agent user")
def agent_user(settings: Settings) -> None:
    exists = settings.agent_user in host.get_fact(Users)
    # An existing agent keeps its uid, home and groups unless a setting says otherwise.
    server.user(
        name=f"User {settings.agent_user} exists",
        user=settings.agent_user,
        uid=None if exists else settings.agent_uid,
        home=settings.agent_home if exists else agent_account(settings).home,
        shell=None if exists else "/bin/bash",
        create_home=True,
    )

"""The agent user stage: the account Jenkins logs in as, created if missing; an existing one
keeps its uid, home and groups unless a setting says otherwise (`agent_account` is what the
other stages read of it)."""

from pyinfra.api import deploy

from agenthost.desired import Account
from agenthost.reads.snapshot import read
from agenthost.settings import Settings
from agenthost.tasks.basics import account_present
from agenthost.tasks.facts import UserAccount


def agent_account(settings: Settings) -> Account:
    """The agent's home and group: the settings, else what an existing user has, else defaults."""
    found = read(UserAccount, user=settings.agent_user) or {}
    home = settings.home(found.get("home"))
    group = found.get("group") or settings.agent_user
    return Account(home, group)


@deploy("Agent user")
def agent_user(settings: Settings) -> None:
    # An existing agent keeps its uid, home and groups unless a setting says otherwise.
    account_present(
        name=f"User {settings.agent_user} exists",
        user=settings.agent_user,
        uid=settings.agent_uid,
        home=agent_account(settings).home,
    )

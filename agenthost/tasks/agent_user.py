"""The agent user stage: the account Jenkins logs in as, created if missing; an existing one
keeps its uid, home and groups unless a setting says otherwise (`agent_account` is what the
other stages read of it)."""

from pyinfra.api import deploy

from agenthost import engine
from agenthost.desired import Account
from agenthost.operations.accounts import GroupMembers, UserAccount, account_present
from agenthost.operations.files import Directory
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import Settings


def agent_account(settings: Settings) -> Account:
    """The agent's home and group: the settings, else what an existing user has, else defaults."""
    found = read(UserAccount, user=settings.agent_user) or {}
    home = settings.home(found.get("home"))
    group = found.get("group") or settings.agent_user
    return Account(home, group)


def _reads(settings: Settings, system: engine.System, account: Account) -> list[Read]:
    # A new agent takes a group of its name.
    return [Read(Directory, path=account.home), Read(GroupMembers, group=settings.agent_user)]


@declares(_reads)
@deploy("Agent user")
def agent_user(settings: Settings) -> None:
    # An existing agent keeps its uid, home and groups unless a setting says otherwise.
    account_present(
        name=f"User {settings.agent_user} exists",
        user=settings.agent_user,
        uid=settings.agent_uid,
        home=agent_account(settings).home,
    )

"""Nothing is left of a run that stopped half-way: its temporary files and scratch
(operations.leftovers) are removed before this run writes anything. The run lock is held, so no
other run still uses them; drift reports them, as what the next deploy removes."""

from pyinfra.api import deploy

from agenthost import desired, engine
from agenthost.operations.leftovers import TREES, Leftovers, agent_directories, no_leftovers
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read
from agenthost.settings import Settings
from agenthost.tasks.agent_user import agent_account
from agenthost.tasks.docker_engine import host_system


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    return [Read(Leftovers, trees=TREES,
                 directories=agent_directories(settings, system, account))]  # fmt: skip


@declares(_reads)
@deploy("Leftovers")
def leftovers(settings: Settings) -> None:
    directories = agent_directories(settings, host_system(), agent_account(settings))
    no_leftovers(name="Nothing is left of an interrupted run", trees=TREES,
                 directories=directories)  # fmt: skip

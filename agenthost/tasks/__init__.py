"""The stages of an agent host, in order: one concern per module, each a @deploy function
taking the host's validated Settings. `agent_host` is the whole host, for `deploy.py` and for
pyinfra users who compose it into deploys of their own:

    from agenthost.tasks import agent_host
    agent_host()

or, with no deploy file at all, `pyinfra INVENTORY agenthost.tasks.agent_host`.
"""

from pyinfra import host, state
from pyinfra.facts.server import OsRelease

from agenthost.hostdata import all_settings, checking_drift
from agenthost.operations.accounts import UserAccount
from agenthost.reads.declared import stage_reads
from agenthost.reads.run_lock import hold_run_lock, run_lock_read
from agenthost.reads.snapshot import Read, expect
from agenthost.settings import Settings
from agenthost.tasks.agent_access import agent_access
from agenthost.tasks.agent_containers import agent_containers
from agenthost.tasks.agent_user import agent_account, agent_user
from agenthost.tasks.docker_audit import KernelAudit, audit_supported, docker_audit
from agenthost.tasks.docker_daemon import docker_daemon_json, docker_restart
from agenthost.tasks.docker_engine import docker_engine, host_system, system_supported
from agenthost.tasks.docker_images import docker_images
from agenthost.tasks.docker_policy import docker_policy
from agenthost.tasks.docker_proxy import docker_proxy
from agenthost.tasks.docker_prune import docker_prune
from agenthost.tasks.docker_socket import docker_socket
from agenthost.tasks.docker_userns import docker_userns
from agenthost.tasks.drop_ins import docker_drop_ins
from agenthost.tasks.leftovers import leftovers
from agenthost.tasks.retire import retire
from agenthost.tasks.stamp import deploy_stamp, record_of, stamp_read

# The stages in the order they run; each declares what it reads (reads.declared).
STAGES = (leftovers, agent_user, docker_engine, docker_userns, docker_daemon_json, docker_proxy,
          docker_socket, docker_drop_ins, docker_restart, agent_access, docker_policy,
          docker_images, agent_containers, docker_prune, docker_audit)  # fmt: skip


def system_reads(settings: Settings) -> list[Read]:
    """The system and the accounts: what the stages' reads are computed from."""
    users = [settings.agent_user, *settings.docker_users]
    audit = [Read(KernelAudit)] if settings.docker_audit else []  # for audit_supported
    return [Read(OsRelease), *(Read(UserAccount, user=user) for user in users), *audit]


def agent_host() -> None:
    """Every stage, with the host's settings. Not a @deploy itself, so that operation names stay
    `Stage | state`; every host of the inventory is validated first, so one bad host stops the
    run before any is touched."""
    settings = all_settings(state)[host.name]
    # What the stages read comes in two round trips: the lock, the system and the accounts,
    # then everything else (which depends on those).
    expect([run_lock_read(), *system_reads(settings)])
    hold_run_lock(settings.agent_run_lock_timeout)  # before any fact the stages read
    if settings.agent_retired:
        retire(settings)
        return
    system_supported(settings)
    audit_supported(settings)  # before any change, as the system's refusal
    stamped = not checking_drift()  # the stamp is no drift item: drift neither reads nor plans it
    expect([*stage_reads(STAGES, settings, host_system(), agent_account(settings)),
            *([stamp_read()] if stamped else [])])  # fmt: skip
    leftovers(settings)  # before this run writes: its own temporary files are not leftovers
    agent_user(settings)
    engine = docker_engine(settings)
    # Everything dockerd reads is written first, then applied by at most one restart.
    managed = [
        *engine,
        *docker_userns(settings),
        *docker_daemon_json(settings),
        *docker_proxy(settings),
        *docker_socket(settings),
        *docker_drop_ins(),
    ]
    docker_restart(settings, managed)
    agent_access(settings)
    # Before the agents: their Docker socket is their policy's.
    docker_policy(settings)
    # Images go into the data root dockerd uses after the restart (userns-remap moves it).
    docker_images(settings)
    agent_containers(settings)
    docker_prune(settings)
    docker_audit(settings)  # after the engine: its rules watch the engine's files
    if stamped:
        deploy_stamp(name="Deploy stamp for agenthost status", record=record_of(settings))

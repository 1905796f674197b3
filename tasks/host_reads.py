"""Everything the stages read from a host, declared before they run, so that one snapshot
(tasks.snapshot) answers a deploy that changes nothing. Each entry is a read an operation makes,
with the same arguments; the e2e suite checks that a no-op makes no other. The system and the
agent's account come first: the package names and the files under the home depend on them.
"""

from __future__ import annotations

from pyinfra.facts.files import FileContents
from pyinfra.facts.hardware import Cpus
from pyinfra.facts.server import OsRelease

from agenthost import desired, docker_ce, engine
from agenthost.paths import (
    AGENT_ENV_DIR,
    AGENT_SECRET_DIR,
    DROP_IN_DIRS,
    SUBID_FILES,
    agent_env_file,
    agent_secret_file,
)
from agenthost.settings import Settings
from agenthost.tasks.agent_access import JavaMajor
from agenthost.tasks.agent_containers import AgentContainers, ContainerSpec
from agenthost.tasks.basics import UnitState
from agenthost.tasks.docker_audit import AuditRules, KernelAudit
from agenthost.tasks.docker_daemon import AppliedConfig, checksum_command
from agenthost.tasks.docker_group import GroupMembers, PrimaryGroupUsers
from agenthost.tasks.docker_socket import SocketAcl
from agenthost.tasks.drop_ins import DropIns
from agenthost.tasks.facts import (
    Directory,
    DockerImage,
    File,
    ManagedFileState,
    PackageVersions,
    UserAccount,
)
from agenthost.tasks.ops import desired_file_read
from agenthost.tasks.packages import package_names
from agenthost.tasks.snapshot import Read


def system_reads(settings: Settings) -> list[Read]:
    """The system and the accounts: what the other reads are computed from."""
    users = [settings.agent_user, *settings.docker_users]
    audit = [Read(KernelAudit)] if settings.docker_audit else []
    return [Read(OsRelease), *(Read(UserAccount, user=user) for user in users), *audit]


def host_reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    wanted = engine.engine(settings, system)
    packages = [package_names(wanted.packages, wanted.absent)]
    packages += [package_names(desired.policy_packages(settings))]
    packages += [package_names(desired.agent_packages(settings))]
    packages += [package_names(desired.audit_packages(settings))]
    client = desired.client_config_path(account)
    return [
        *(desired_file_read(file) for file in desired.files(settings, account, system)),
        Read.secret(FileContents, path=client),  # the proxies' credentials, docker logins
        desired_file_read(desired.engine_pin(settings, system)),
        Read(File, path=engine.OLD_PIN),
        *_repository_reads(settings),
        *(Read(fact, path=path) for path in _subid_files(settings)
          for fact in (FileContents, ManagedFileState)),  # fmt: skip
        *(Read(Directory, path=path) for path in _directories(settings, account)),
        Read(GroupMembers, group="docker"),
        Read(PrimaryGroupUsers, group="docker"),
        Read(SocketAcl),
        Read(GroupMembers, group=settings.agent_user),  # a new agent takes a group of its name
        *(Read(PackageVersions, names=names) for names in packages if names),
        *(Read(UnitState, unit=unit) for unit in desired.units(settings)),
        *(Read(DropIns, directory=directory) for directory in DROP_IN_DIRS),
        Read(AppliedConfig, checksum=checksum_command(desired.dockerd_files(settings))),
        *([Read(JavaMajor)] if settings.agent_java else []),
        *([Read(AuditRules)] if settings.docker_audit else []),
        *_docker_reads(settings),
    ]


def _subid_files(settings: Settings) -> tuple[str, ...]:
    return SUBID_FILES if settings.docker_userns_remap else ()


def _repository_reads(settings: Settings) -> list[Read]:
    if settings.docker_source == "docker-ce":
        return [Read(ManagedFileState, path=docker_ce.SOURCES)]
    return [Read(File, path=docker_ce.SOURCES), Read(File, path=docker_ce.KEYRING)]


def _directories(settings: Settings, account: desired.Account) -> list[str]:
    env_dir = [AGENT_ENV_DIR] if any(c.env_file for c in settings.agent_containers) else []
    if any(c.kind == "jenkins-inbound" for c in settings.agent_containers):
        env_dir.append(AGENT_SECRET_DIR)
    return [account.home, settings.agent_workspace, f"{account.home}/.ssh",
            f"{account.home}/.docker", *env_dir]  # fmt: skip


def _docker_reads(settings: Settings) -> list[Read]:
    """Images and agent containers (read after the restart, from the same snapshot if nothing
    changed before)."""
    containers = settings.agent_containers
    images = [*settings.docker_image_pull, *(c.image for c in containers)]
    if settings.agent_image_build:
        images.append(settings.agent_image_build.tag)
    return [
        *(Read(DockerImage, object_id=image) for image in dict.fromkeys(images)),
        *(Read(ContainerSpec, container=c.name) for c in containers),
        *(Read(ManagedFileState, path=agent_env_file(c.name)) for c in containers if c.env_file),
        *(Read(ManagedFileState, path=agent_secret_file(c.name)) for c in containers
          if c.kind == "jenkins-inbound"),
        Read(AgentContainers),
        *([Read(Cpus)] if any(c.cpus for c in containers) else []),
    ]

"""The agent's access stage: what SSH build agents need on the host: its workspace and ~/.ssh,
exactly the configured authorized keys, the agent packages (held at the versions asked), and a
Java recent enough for Jenkins' remoting when `agent_java` is set."""

from pyinfra import host
from pyinfra.api import FactBase, deploy, operation

from agenthost import desired, engine
from agenthost.operations.apt import PackageVersions, package_names, packages_installed
from agenthost.operations.files import Directory, desired_file, desired_file_read, directory
from agenthost.operations.plan import pending
from agenthost.reads.declared import declares
from agenthost.reads.snapshot import Read, read
from agenthost.settings import JAVA_MINIMUM, Settings, java_major
from agenthost.tasks.agent_user import agent_account


def _reads(settings: Settings, system: engine.System, account: desired.Account) -> list[Read]:
    files = [desired.authorized_keys(settings, account), desired.authorized_keys2(account),
             desired.agent_pin(settings)]  # fmt: skip
    names = package_names(desired.agent_packages(settings))
    return [
        *(desired_file_read(file) for file in files),
        Read(Directory, path=settings.agent_workspace),
        Read(Directory, path=f"{account.home}/.ssh"),
        *([Read(PackageVersions, names=names)] if names else []),
        *([Read(JavaMajor)] if settings.agent_java else []),
    ]


@declares(_reads)
@deploy("Agent access")
def agent_access(settings: Settings) -> None:
    """What SSH build agents need: a workspace, exactly the listed keys, their packages."""
    user, workspace = settings.agent_user, settings.agent_workspace
    account = agent_account(settings)
    home, group = account
    directory(
        name=f"Workspace {workspace} belongs to {user}",
        path=workspace,
        user=user,
        group=group,
        mode="750",
    )
    directory(
        name=f"{home}/.ssh belongs to {user}, 0700",
        path=f"{home}/.ssh",
        user=user,
        group=group,
        mode="700",
    )
    keys = desired.authorized_keys(settings, account)
    if keys.content:
        count = len(settings.agent_ssh_authorized_keys)
        desired_file(keys, f"{keys.path} holds exactly the {count} configured key(s)")
    else:
        desired_file(keys, f"{keys.path} does not exist: no key is configured")
    keys2 = desired.authorized_keys2(account)
    desired_file(keys2, f"{keys2.path} does not exist: keys are only the listed ones")
    packages = desired.agent_packages(settings)
    desired_file(desired.agent_pin(settings), "Agent packages given a version are held there")
    if packages:
        packages_installed(name="Agent packages are installed as asked", packages=packages,
                           lock_timeout=settings.docker_apt_lock_timeout)  # fmt: skip
    if settings.agent_java:
        java_at_least(
            name=f"`java` is Java {JAVA_MINIMUM} or newer (Jenkins agents need it)",
            minimum=JAVA_MINIMUM,
            package=settings.agent_java,
        )


class JavaMajor(FactBase):
    """The major version of `java` on the PATH (8 for 1.8.0_392), or None without one."""

    def command(self) -> str:
        return "java -version 2>&1 || true"

    def process(self, output: list[str]) -> int | None:
        return java_major("\n".join(output))


@operation()
def java_at_least(minimum: int, package: str):
    """`java` on the host is Java `minimum` or newer; read at execution, after the install.

    + minimum: the lowest major version accepted
    + package: the agent_java setting, named in the error
    """
    major = read(JavaMajor)
    if major is not None and major >= minimum:
        host.noop(f"java is Java {major}")
        return
    found = f"Java {major}" if major is not None else "no java on the PATH"
    yield pending(
        f"agent_java = {package!r}: {found} on {host.name}; Jenkins agents need Java"
        f" {minimum} or newer (e.g. openjdk-{minimum}-jre-headless)",
        f"java is checked once {package} is installed ({found} now)",
    )

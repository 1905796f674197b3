"""`agenthost rehearsal`: the lab's command line (up, down, reboot, status, image, relay, and the
quickstart's agent-image and pipeline)."""

import argparse
import logging
import re
from collections.abc import Callable

from docker.errors import DockerException

from agenthost.lab import engine, rehearsal
from agenthost.lab.rehearsal import (
    CAPABILITIES,
    DEFAULT_RELEASE,
    DEFAULT_SET,
    RELEASES,
    SECURITY_OPT,
    SET_LABEL,
    Host,
    down,
    spread,
    state_dir,
    up,
)
from agenthost.lab.rehearsal_image import RehearsalError, ensure_images, image_tag

log = logging.getLogger(__name__)

MACHINES = ("container", "vm")


def describe(set_name: str, hosts: list[Host]) -> str:
    """How to reach the hosts by hand, with pyinfra, and with testinfra."""
    ssh_config = state_dir(set_name) / "ssh_config"
    env = "" if set_name == DEFAULT_SET else f"AGENTHOST_REHEARSAL_SET={set_name} "
    lines = [f"ssh -F {ssh_config} {h.name}    # {h.release}, 127.0.0.1:{h.port}" for h in hosts]
    lines += [
        f"pyinfra: {env}pyinfra inventory/rehearsal.py deploy.py",
        "testinfra: --hosts=" + ",".join(f"ssh://{h.name}" for h in hosts)
        + f" --ssh-config={ssh_config}",
    ]
    return "\n".join(lines)


def docker_cli_options(set_name: str) -> list[str]:
    """container_spec's host options as `docker create` flags, for the Vagrantfile's docker
    provider (which names, ports and volumes the container itself)."""
    return [
        *(f"--cap-add={cap}" for cap in CAPABILITIES),
        *(f"--security-opt={opt}" for opt in (*SECURITY_OPT, "systempaths=unconfined")),
        "--cgroupns=host", "-v=/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v=/var/lib/docker",
        "--tmpfs=/run", "--tmpfs=/run/lock", "--stop-signal=SIGRTMIN+3",
        f"--label={SET_LABEL}={set_name}",
    ]  # fmt: skip


def parse_release_list(value: str) -> list[str]:
    """argparse type of --release: a comma-separated list of known releases."""
    releases = [r.strip() for r in value.split(",") if r.strip()]
    unknown = [r for r in releases if r not in RELEASES]
    if unknown or not releases:
        raise argparse.ArgumentTypeError(f"unknown release(s) {unknown}; known: {list(RELEASES)}")
    return releases


def parse_set_name(value: str) -> str:
    """argparse type of --set: it becomes part of container, volume and network names."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", value):
        raise argparse.ArgumentTypeError("use lower-case letters, digits, '.', '_' and '-'")
    return value


def parse_positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("must be a whole number, at least 1")
    return int(value)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rehearsal", help="start or stop local rehearsal hosts (systemd + sshd containers)",
        description=rehearsal.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="rehearsal_command", required=True)
    set_option = argparse.ArgumentParser(add_help=False)
    set_option.add_argument(
        "--set", "--name", dest="set", type=parse_set_name, default=DEFAULT_SET,
        help="host set, so that e.g. the tests' set does not clash with yours "
             "(default: %(default)s; state in .rehearsal/SET/)")
    release_option = argparse.ArgumentParser(add_help=False)
    release_option.add_argument(
        "--release", action="extend", type=parse_release_list, metavar="RELEASE[,RELEASE...]",
        help=", ".join(f"{r} (Debian {v})" for r, v in RELEASES.items())
        + f"; repeat or comma-separate (default: {DEFAULT_RELEASE})")

    _add_up(commands, [set_option, release_option])

    commands.add_parser(
        "down", parents=[set_option],
        help="remove the set's containers, volumes, network and state",
    ).set_defaults(func=_reporting_errors(_cmd_down))

    commands.add_parser(
        "reboot", parents=[set_option],
        help="reboot the set's hosts and wait for SSH and dockerd; each keeps its port",
    ).set_defaults(func=_reporting_errors(_cmd_reboot))

    commands.add_parser(
        "status", parents=[set_option], help="list the set's containers",
    ).set_defaults(func=_reporting_errors(_cmd_status))

    commands.add_parser(
        "docker-args", parents=[set_option],
        help="print, one a line, the `docker create` options a rehearsal host needs (Vagrantfile)",
    ).set_defaults(func=_cmd_docker_args)

    image_parser = commands.add_parser(
        "image", parents=[release_option],
        help="build or reuse the images only and print their tags (the Vagrantfile runs this)")
    image_parser.add_argument("--rebuild", action="store_true",
                              help="rebuild even if the cached image fits")
    image_parser.set_defaults(func=_reporting_errors(_cmd_image))

    relay_parser = commands.add_parser(
        "relay", parents=[set_option],
        help="serve a slow network in front of the set's hosts (set SET-delayed) until stopped",
        description="Relay each host's SSH port through 127.0.0.1, holding data --delay-ms in "
                    "each direction, and write the set SET-delayed that goes through the relays "
                    "(removed again on SIGINT or SIGTERM).")
    relay_parser.add_argument("--delay-ms", type=parse_positive, default=25,
                              help="delay each way, in ms (default: %(default)s)")
    relay_parser.set_defaults(func=_reporting_errors(_cmd_relay))

    from agenthost.lab import quickstart  # it builds on this module

    quickstart.add_commands(commands, set_option, _reporting_errors)


def _add_up(commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    up_parser = commands.add_parser(
        "up", parents=parents,
        help="start a fresh set of hosts and write its inventory",
        description="Start a fresh set of hosts (removing the set's leftovers) and write "
                    ".rehearsal/SET/hosts.json and ssh_config. The hosts are dealt over the "
                    "releases in turn: `--hosts 3 --release bookworm,trixie` starts "
                    "2 bookworm + 1 trixie.")
    up_parser.add_argument("--hosts", type=parse_positive, default=1,
                           help="total number of hosts (default: %(default)s)")
    up_parser.add_argument(
        "--machine", choices=MACHINES, default="container",
        help="container: systemd in a container (fast); vm: a Debian VM under qemu with a real "
             "kernel, AppArmor and auditd (slow: software emulation) (default: %(default)s)")
    up_parser.set_defaults(func=_reporting_errors(_cmd_up))


def _reporting_errors(command: Callable[[argparse.Namespace], int]
                      ) -> Callable[[argparse.Namespace], int]:
    """Expected failures end in a message and exit code 1, not a traceback."""
    def run(args: argparse.Namespace) -> int:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        try:
            return command(args)
        except (RehearsalError, engine.EngineError, DockerException) as error:
            log.error("error: %s", error)
            return 1
    return run


def _cmd_up(args: argparse.Namespace) -> int:
    hosts = up(args.set, spread(args.hosts, args.release or [DEFAULT_RELEASE]), args.machine)
    print(describe(args.set, hosts))
    return 0


def _cmd_reboot(args: argparse.Namespace) -> int:
    from agenthost.lab import rehearsal_vm

    rehearsal_vm.reboot(args.set)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    removed = down(args.set)
    print(f"removed set {args.set!r}: {', '.join(removed)}" if removed
          else f"no hosts in set {args.set!r}; nothing removed")  # fmt: skip
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    client = engine.ensure_engine()
    containers = client.containers.list(all=True, filters=rehearsal._set_selector(args.set))
    for container in containers:
        print(f"{container.name}\t{container.status}\t{rehearsal.ssh_address(container)}")
    if not containers:
        print(f"no hosts in set {args.set!r}")
    return 0


def _cmd_docker_args(args: argparse.Namespace) -> int:
    print("\n".join(docker_cli_options(args.set)))
    return 0


def _cmd_relay(args: argparse.Namespace) -> int:
    from agenthost.lab import rehearsal_relay  # it builds on this module

    rehearsal_relay.run(args.set, args.delay_ms / 1000)
    return 0


def _cmd_image(args: argparse.Namespace) -> int:
    releases = args.release or [DEFAULT_RELEASE]
    ensure_images(releases, rebuild=args.rebuild)
    print("\n".join(image_tag(r) for r in releases))
    return 0

"""The lab's command line: `agenthost rehearsal ...` where the lab is installed (the `agenthost`
command finds it through the entry point `agenthost.commands`), or `python -m agenthost_lab ...`.

Each sub-command is a thin call into the module that does the work: rehearsal hosts
(rehearsal; VMs in rehearsal_vm), their images (rehearsal_image), a slow network in front of
them (rehearsal_relay), the quickstart's agent image and pipeline replay (quickstart). None of
those imports this one.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable

from docker.errors import DockerException

from agenthost_lab import agent_image, engine, quickstart, rehearsal, rehearsal_relay, rehearsal_vm
from agenthost_lab.rehearsal_image import ensure_images, image_tag
from agenthost_lab.state import DEFAULT_RELEASE, DEFAULT_SET, RELEASES, RehearsalError, state_dir

log = logging.getLogger(__name__)

MACHINES = ("container", "vm")
Command = Callable[[argparse.Namespace], int]


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
    """`rehearsal` and its sub-commands, under the `agenthost` command's `subparsers`."""
    parser = subparsers.add_parser(
        "rehearsal", help="start or stop local rehearsal hosts (systemd + sshd containers)",
        description=rehearsal.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_commands(parser.add_subparsers(dest="rehearsal_command", required=True))


def main(argv: list[str] | None = None) -> int:
    """`python -m agenthost_lab up ...`: the same as `agenthost rehearsal up ...`."""
    parser = argparse.ArgumentParser(prog="python -m agenthost_lab", description=rehearsal.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_commands(parser.add_subparsers(dest="rehearsal_command", required=True))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)


def _add_commands(commands: argparse._SubParsersAction) -> None:
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
    _host_commands(commands, set_option, release_option)
    _lab_commands(commands, set_option)


def _command(commands: argparse._SubParsersAction, name: str, command: Command,
             parents: list[argparse.ArgumentParser], **texts: str) -> argparse.ArgumentParser:
    """The sub-command `name`, running `command` (`texts`: its help and description)."""
    parser = commands.add_parser(name, parents=parents, **texts)
    parser.set_defaults(func=_reporting_errors(command))
    return parser


def _host_commands(commands: argparse._SubParsersAction, set_option: argparse.ArgumentParser,
                   release_option: argparse.ArgumentParser) -> None:  # fmt: skip
    up_parser = _command(
        commands, "up", _cmd_up, [set_option, release_option],
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
    _command(commands, "down", _cmd_down, [set_option],
             help="remove the set's VMs, containers, volumes, network and state")
    _command(commands, "reboot", _cmd_reboot, [set_option],
             help="reboot the set's hosts and wait for SSH and dockerd; each keeps its port")
    _command(commands, "status", _cmd_status, [set_option], help="list the set's containers")
    _command(commands, "docker-args", _cmd_docker_args, [set_option],
             help="print, one a line, the `docker create` options a rehearsal host needs"
                  " (Vagrantfile)")
    _command(commands, "image", _cmd_image, [release_option],
             help="build or reuse the images only and print their tags (the Vagrantfile runs"
                  " this)",
             ).add_argument("--rebuild", action="store_true",
                            help="rebuild even if the cached image fits")


def _lab_commands(commands: argparse._SubParsersAction,
                  set_option: argparse.ArgumentParser) -> None:
    _command(
        commands, "relay", _cmd_relay, [set_option],
        help="serve a slow network in front of the set's hosts (set SET-delayed) until stopped",
        description="Relay each host's SSH port through 127.0.0.1, holding data --delay-ms in "
                    "each direction, and write the set SET-delayed that goes through the relays "
                    "(removed again on SIGINT or SIGTERM).",
    ).add_argument("--delay-ms", type=parse_positive, default=25,
                   help="delay each way, in ms (default: %(default)s)")
    _command(commands, "agent-image", _cmd_agent_image, [set_option],
             help="make the DooD agent image here and save it for the set's inventory")
    _command(commands, "pipeline", _cmd_pipeline, [set_option],
             help="replay a Docker Pipeline through the agent container of each host")


def _reporting_errors(command: Command) -> Command:
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
    releases = args.release or [DEFAULT_RELEASE]
    start = rehearsal_vm.up if args.machine == "vm" else rehearsal.up
    hosts = start(args.set, rehearsal.spread(args.hosts, releases))
    print(rehearsal.describe(args.set, hosts))
    return 0


def _cmd_reboot(args: argparse.Namespace) -> int:
    rehearsal_vm.reboot(args.set)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    removed = rehearsal.down(args.set)
    print(f"removed set {args.set!r}: {', '.join(removed)}" if removed
          else f"no hosts in set {args.set!r}; nothing removed")  # fmt: skip
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    containers = rehearsal.containers(args.set)
    for container in containers:
        print(f"{container.name}\t{container.status}\t{rehearsal.ssh_address(container)}")
    if not containers:
        print(f"no hosts in set {args.set!r}")
    return 0


def _cmd_docker_args(args: argparse.Namespace) -> int:
    print("\n".join(rehearsal.docker_cli_options(args.set)))
    return 0


def _cmd_relay(args: argparse.Namespace) -> int:
    rehearsal_relay.run(args.set, args.delay_ms / 1000)
    return 0


def _cmd_image(args: argparse.Namespace) -> int:
    releases = args.release or [DEFAULT_RELEASE]
    ensure_images(releases, rebuild=args.rebuild)
    print("\n".join(image_tag(r) for r in releases))
    return 0


def _cmd_agent_image(args: argparse.Namespace) -> int:
    agent_image.save(state_dir(args.set))
    return 0


def _cmd_pipeline(args: argparse.Namespace) -> int:
    return 0 if quickstart.replay_all(args.set) else 1

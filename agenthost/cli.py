"""The `agenthost` command: each sub-command lives in its own module.

Extras add theirs through the entry point group `agenthost.commands` (the lab's `rehearsal`);
where an extra is not installed, its command says how to install it.
"""

import argparse
import sys
from importlib.metadata import entry_points
from pathlib import Path

from agenthost import (
    __version__,
    backups,
    drift_command,
    known_hosts,
    report,
    settings,
    status,
    verify,
)

COMMANDS = "agenthost.commands"  # the entry point group of the extras' commands
EXIT_MISSING_EXTRA = 2


def _settings(args: argparse.Namespace) -> int:
    if args.readme:
        args.readme.write_text(settings.with_settings_table(args.readme.read_text()))
    else:
        print(settings.settings_table(), end="")
    return 0


def _readme(name: str) -> Path:
    """A README with the table's markers: anything else is a usage mistake, not a traceback."""
    path = Path(name)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{name}: no such file")
    text = path.read_text()
    if settings.TABLE_START not in text or settings.TABLE_END not in text:
        raise argparse.ArgumentTypeError(f"{name}: no line {settings.TABLE_START} to replace from")
    return path


def _add_extras(commands: argparse._SubParsersAction) -> None:
    """The commands of installed extras; one whose extra lacks a module says how to get it."""
    for entry in entry_points(group=COMMANDS):
        try:
            add_parser = entry.load()
        except ModuleNotFoundError as missing:
            _add_missing(commands, entry.name, entry.extras, (missing.name or "?").split(".")[0])
        else:
            add_parser(commands)


def _add_missing(commands: argparse._SubParsersAction, name: str, extras: list[str],
                 module: str) -> None:  # fmt: skip
    install = f"pip install 'agenthost[{','.join(extras)}]'"
    parser = commands.add_parser(name, help=f"not installed here: {install}", add_help=False)
    parser.add_argument("words", nargs=argparse.REMAINDER)

    def missing(_args: argparse.Namespace) -> int:
        print(f"agenthost {name}: the {'/'.join(extras)} extra is not installed (no module named"
              f" {module}); install it with: {install}", file=sys.stderr)
        return EXIT_MISSING_EXTRA

    parser.set_defaults(func=missing, extra=[])


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """Usage errors exit 64 (sysexits' EX_USAGE): 2 is drift's "hosts drifted"."""
        self.print_usage(sys.stderr)
        self.exit(report.EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    parser = _Parser(prog="agenthost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"agenthost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_extras(commands)
    drift_command.add_parser(commands)
    status.add_parser(commands)
    known_hosts.add_parser(commands)
    backups.add_parser(commands)
    verify.add_parser(commands)
    table = commands.add_parser("settings", help="print the settings table (Markdown)")
    table.add_argument("--readme", type=_readme, help="rewrite the table in this README instead")
    table.set_defaults(func=_settings)
    args, extra = parser.parse_known_args(argv)
    if extra and "extra" not in vars(args):  # a command that passes options on declares `extra`
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args.func(args) or 0

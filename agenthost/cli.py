"""The `agenthost` command: each sub-command lives in its own module."""

import argparse
import sys
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
from agenthost.lab import rehearsal_cli


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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """Usage errors exit 64 (sysexits' EX_USAGE): 2 is drift's "hosts drifted"."""
        self.print_usage(sys.stderr)
        self.exit(report.EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv=None) -> int:
    parser = _Parser(prog="agenthost", description=__doc__)
    parser.add_argument("--version", action="version", version=f"agenthost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    rehearsal_cli.add_parser(commands)
    drift_command.add_parser(commands)
    status.add_parser(commands)
    known_hosts.add_parser(commands)
    backups.add_parser(commands)
    verify.add_parser(commands)
    table = commands.add_parser("settings", help="print the settings table (Markdown)")
    table.add_argument("--readme", type=_readme, help="rewrite the table in this README instead")
    table.set_defaults(func=_settings)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "verify":  # pytest's own options pass through verify only
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args.func(args) or 0

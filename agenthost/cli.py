"""The `agenthost` command: each sub-command lives in its own module."""

import argparse

from agenthost import rehearsal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="agenthost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rehearsal.add_parser(commands)
    args = parser.parse_args(argv)
    return args.func(args) or 0

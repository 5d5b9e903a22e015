"""The command line's parser and entry point: `python -m glasspane` (or `python -m collectors`)."""

from __future__ import annotations

import argparse
import sys

from glasspane.cli import alerts, collect, demo, forget, store
from glasspane.cli.common import EXIT_FAILED, EXIT_USAGE
from glasspane.config import ConfigError
from glasspane.store import StoreBusy, StoreTooNew, StoreUnreadable

PROG = "python -m collectors"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per action."""
    parser = argparse.ArgumentParser(prog=prog, description="The Glasspane command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (collect, alerts, demo, forget, store):
        command.add_command(commands)
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Run the command line; errors in config or arguments print one line and exit 2, a store that cannot
    be read or that a newer Glasspane migrated one line and exit 1."""
    args = build_parser(prog).parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, StoreBusy) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreUnreadable, StoreTooNew) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_FAILED

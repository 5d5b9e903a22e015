"""`store`: move a pane store, and keep it small.

    store copy --to TARGET [--store SOURCE] [--replace]   copy every table into another store
    store maintain [--store S]                           merge files, expire old snapshots now

A store is a local path (embedded) or `postgres://host/db?data_path=…` (scaled): `copy` moves an
embedded store into a scaled one for an organisation, or a scaled one back onto a laptop.
"""

from __future__ import annotations

import argparse

from glasspane.cli.common import EXIT_OK, add_common, existing_store
from glasspane.config import ConfigError
from glasspane.store import Store


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register the `store` sub-command and its actions."""
    store = commands.add_parser(
        "store",
        help="copy the pane store elsewhere, or maintain it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = store.add_subparsers(dest="action", required=True)
    copy = actions.add_parser("copy", help="copy every table of the store (--store) into another store (--to)")
    copy.add_argument("--to", required=True, metavar="TARGET", help="a path, or postgres://host/db?data_path=URL")
    copy.add_argument("--replace", action="store_true", help="replace what the target store already holds")
    add_common(copy)
    copy.set_defaults(handler=run_copy)
    maintain = actions.add_parser("maintain", help="merge small files, expire old snapshots, delete unneeded files")
    add_common(maintain)
    maintain.set_defaults(handler=run_maintain)


def run_copy(args: argparse.Namespace) -> int:
    """Copy the store into the target store, refusing to overwrite one that holds runs (unless --replace)."""
    from glasspane.store.copy import copy_store

    source, target = existing_store(args.store, "no pane store there to copy"), Store(args.to)
    if source.location == target.location:
        raise ConfigError(f"{target}: the target is the store itself")
    if target.exists() and not args.replace:
        with target.reader() as con:
            held = con.execute("SELECT count(*) FROM raw.runs").fetchone()[0]
        if held:
            raise ConfigError(f"{target}: already holds {held:,} runs; add --replace to overwrite them")
    source.ensure_current()
    copied = copy_store(source.location, target)
    print(f"copied {sum(copied.values()):,} rows in {len(copied)} tables from {source} to {target}")
    return EXIT_OK


def run_maintain(args: argparse.Namespace) -> int:
    """Maintain the store now and say what it did."""
    from glasspane.store.maintenance import maintain

    store = existing_store(args.store, "no pane store there")
    report = maintain(store)
    print(
        f"{store}: {report.files_before:,} data files → {report.files_after:,}; "
        f"{report.snapshots_expired:,} snapshots expired, {report.files_deleted:,} files deleted"
    )
    return EXIT_OK

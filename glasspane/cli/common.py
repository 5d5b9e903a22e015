"""What the commands share: exit codes, the `--store` and `--quiet` options, and finding an existing store."""

from __future__ import annotations

import argparse

from glasspane import settings
from glasspane.config import ConfigError
from glasspane.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STORE_HELP = (
    f"pane store: a path, or postgres://host/db?data_path=URL (default: ${settings.STORE_ENV} or "
    f"{settings.DEFAULT_STORE.name})"
)
CONFIG_HELP = f"config file (default: ${settings.CONFIG_ENV} or glasspane.toml)"


def add_common(sub: argparse.ArgumentParser) -> None:
    """The options every command takes: which store, and no progress bar."""
    sub.add_argument("--store", help=STORE_HELP)
    sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def existing_store(explicit: str | None, missing: str) -> Store:
    """The configured store; a ConfigError saying `missing` when it has not been created yet."""
    store = Store.from_settings(explicit)
    if not store.exists():
        raise ConfigError(f"{store}: {missing}")
    return store

"""Where Glasspane finds its store and config: defaults, overridable by environment variables."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
STORE_ENV = "GLASSPANE_STORE"
CONFIG_ENV = "GLASSPANE_CONFIG"
DEFAULT_STORE = PROJECT_DIR / "glasspane.lake"
LEGACY_DEFAULT_STORE = PROJECT_DIR / "glasspane.duckdb"  # where versions before DuckLake kept the store
DEFAULT_CONFIG = PROJECT_DIR / "glasspane.toml"


def store_location(explicit: str | os.PathLike | None = None) -> str:
    """The pane store: an explicit location, else `GLASSPANE_STORE`, else `glasspane.lake` here.

    A location is a local path (an embedded store) or `postgres://host/db?data_path=…` (a scaled one).
    """
    chosen = explicit or os.environ.get(STORE_ENV)
    if not chosen:
        return str(DEFAULT_STORE)
    chosen = str(chosen)
    return chosen if "://" in chosen else str(Path(chosen).expanduser().resolve())


def legacy_store(location: str) -> Path | None:
    """The store file of versions before DuckLake, to copy into the default store when it is created."""
    return LEGACY_DEFAULT_STORE if location == str(DEFAULT_STORE) else None


def config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file: explicit, else `GLASSPANE_CONFIG`, else `glasspane.toml` here if it exists, else the
    demo's (`demo_dir` beside the store) once the demo was built: what the dashboard shows is what it collects."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    store = store_location()
    demo = demo_dir(None if "://" in store else Path(store)) / "glasspane.toml"
    return demo if demo.exists() else None


def demo_dir(store: Path | None) -> Path:
    """Where the demo places are built: beside an embedded store (else in the project), in `.glasspane/demo`."""
    return (store.parent if store is not None else PROJECT_DIR) / ".glasspane" / "demo"


def default_pipelines_dir() -> Path:
    """dlt's own default pipelines folder (honours `DLT_DATA_DIR`)."""
    from dlt.common.pipeline import get_dlt_pipelines_dir

    return Path(get_dlt_pipelines_dir())


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a block, then put back what was there."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

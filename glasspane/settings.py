"""Where Glasspane finds its store and config: defaults, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
STORE_ENV = "GLASSPANE_STORE"
CONFIG_ENV = "GLASSPANE_CONFIG"
DEFAULT_STORE = PROJECT_DIR / "glasspane.duckdb"
DEFAULT_CONFIG = PROJECT_DIR / "glasspane.toml"


def store_path(explicit: str | os.PathLike | None = None) -> Path:
    """The pane store file: an explicit path, else `GLASSPANE_STORE`, else `glasspane.duckdb` here."""
    chosen = explicit or os.environ.get(STORE_ENV) or DEFAULT_STORE
    return Path(chosen).expanduser().resolve()


def config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file: explicit, else `GLASSPANE_CONFIG`, else `glasspane.toml` here if it exists, else the
    demo's (`demo_dir` beside the store) once the demo was built: what the dashboard shows is what it collects."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    demo = demo_dir(store_path()) / "glasspane.toml"
    return demo if demo.exists() else None


def demo_dir(store: Path) -> Path:
    """Where the demo places are built: beside the store, in `.glasspane/demo`."""
    return store.parent / ".glasspane" / "demo"


def default_pipelines_dir() -> Path:
    """dlt's own default pipelines folder (honours `DLT_DATA_DIR`)."""
    from dlt.common.pipeline import get_dlt_pipelines_dir

    return Path(get_dlt_pipelines_dir())

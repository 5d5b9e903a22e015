"""Shared fixtures: stores in temporary folders, and collects driven like the CLI drives them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from collectors import registry
from collectors.runner import CollectSummary, collect
from glasspane.config import SourceConfig
from glasspane.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty pane store in a temporary folder."""
    return Store(tmp_path / "store.duckdb")


def source(name: str, kind: str, **options: Any) -> SourceConfig:
    """A configured source, as a `[[sources]]` table would give it."""
    return SourceConfig(name=name, kind=kind, options=options, origin="test.toml")


def collect_into(store: Store, *sources: SourceConfig) -> CollectSummary:
    """Collect these sources into the store, as `python -m collectors collect` does."""
    return collect([registry.build(s) for s in sources], store)


def clone(store: Store, path: Path) -> Store:
    """A copy of an embedded store at `path`: its catalog (SQLite's backup, consistent while in use) and files.

    The backup runs in a process of its own: Python's SQLite beside DuckDB's in one process would not
    see DuckDB's file locks (see `glasspane.store.lake._sqlite_snapshot`)."""
    import shutil
    import subprocess
    import sys

    assert store.path is not None
    backup = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))"
    subprocess.run([sys.executable, "-c", backup, str(store.path), str(path)], check=True)
    shutil.copytree(f"{store.path}.files", f"{path}.files")
    return Store(path)


def rows(store: Store, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Query the store read-only, as a user would with SQL."""
    with store.reader() as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory) -> Path:
    """The config of the demo's places (real dlt pipelines, ~12 s), built once per test session."""
    from glasspane.demo.pipelines import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "places", progress=lambda message: None)


@pytest.fixture(scope="session")
def demo_store(demo_config) -> Store:
    """A store holding the demo data, collected once per test session."""
    from glasspane.config import load_config

    demo = Store(demo_config.parent.parent / "demo.duckdb")
    summary = collect(registry.build_all(load_config(demo_config)), demo)
    assert summary.ok, [o.errors for o in summary.outcomes]
    return demo


@pytest.fixture
def odd_names(tmp_path, monkeypatch) -> Store:
    """A store over a real pipeline with dlt's `direct` naming: table and column names keep markdown, HTML
    and emoji."""
    import dlt

    table, html = '"quoted" 🚀 #1', "<img src=x onerror=alert(1)>"

    @dlt.resource(name=table, columns={html: {"x-annotation-pii": "email"}})
    def odd():
        yield [{html: "x", "**bold** [link](http://x)": 1}]

    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("SCHEMA__NAMING", "direct")
    p = dlt.pipeline(
        "odd_names",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="odd",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    p.run(odd())
    monkeypatch.delenv("SCHEMA__NAMING")
    store = Store(tmp_path / "store.duckdb")
    assert collect_into(
        store,
        source("wh", "duckdb", path=str(warehouse)),
        source("pipes", "pipelines_dir", path=str(tmp_path / "pipelines")),
    ).ok
    return store

"""The collector kinds a config may name. Each kind's module is imported only when a source uses it,
so a collect of local folders never loads BigQuery's client libraries."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from collectors.base import Collector, SourceError
from glasspane.config import Config, ConfigError, SourceConfig

KINDS: dict[str, str] = {
    "pipelines_dir": "collectors.pipelines_dir:PipelinesDirCollector",
    "duckdb": "collectors.duckdb_source:DuckDBCollector",
    "filesystem": "collectors.filesystem:FilesystemCollector",
    "bigquery": "collectors.bigquery:BigQueryCollector",
    "sql_models": "collectors.sql_models:SqlModelsCollector",
}


def collector_class(kind: str) -> type[Collector] | None:
    """The collector class of a kind, imported now; None for an unknown kind."""
    target = KINDS.get(kind)
    if target is None:
        return None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def build(source: SourceConfig) -> Collector:
    """The collector for a configured source; a ConfigError names what is wrong with it."""
    cls = collector_class(source.kind)
    if cls is None:
        raise ConfigError(
            f"{source.origin}: source '{source.name}': unknown kind '{source.kind}' "
            f"(known kinds: {', '.join(sorted(KINDS))})"
        )
    return cls(source)


def build_all(config: Config, names: list[str] | None = None) -> list[Collector]:
    """Collectors for the selected sources, checking every one before any collect starts."""
    return [build(source) for source in config.select(names)]


def bigquery_opener(sources: Sequence[SourceConfig]) -> Callable[[str], Any]:
    """Opens the first configured `bigquery` source that reads a project (a deletion executes with its
    credentials): None when no source reads it, ConnectionError naming why it cannot be opened."""

    def open_project(project: str) -> Any:
        for source in sources:
            if source.kind != "bigquery":
                continue
            try:
                collector = build(source)
            except ConfigError as ex:
                raise ConnectionError(str(ex)) from None
            if project in getattr(collector, "projects", ()):
                try:
                    collector.open()
                except SourceError as ex:
                    raise ConnectionError(ex.reason) from None
                return collector
        return None

    return open_project

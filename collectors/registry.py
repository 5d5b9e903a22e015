"""The collector kinds a config may name."""

from __future__ import annotations

from collectors.base import Collector
from collectors.bigquery import BigQueryCollector
from collectors.duckdb_source import DuckDBCollector
from collectors.filesystem import FilesystemCollector
from collectors.pipelines_dir import PipelinesDirCollector
from collectors.sql_models import SqlModelsCollector
from glasspane.config import Config, ConfigError, SourceConfig

KINDS: dict[str, type[Collector]] = {
    cls.kind: cls
    for cls in (PipelinesDirCollector, DuckDBCollector, FilesystemCollector, BigQueryCollector, SqlModelsCollector)
}


def build(source: SourceConfig) -> Collector:
    """The collector for a configured source; a ConfigError names what is wrong with it."""
    cls = KINDS.get(source.kind)
    if cls is None:
        raise ConfigError(
            f"{source.origin}: source '{source.name}': unknown kind '{source.kind}' "
            f"(known kinds: {', '.join(sorted(KINDS))})"
        )
    return cls(source)


def build_all(config: Config, names: list[str] | None = None) -> list[Collector]:
    """Collectors for the selected sources, checking every one before any collect starts."""
    return [build(source) for source in config.select(names)]

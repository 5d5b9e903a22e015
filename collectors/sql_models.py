"""`kind = "sql_models"`: a folder of SQL model files, e.g. dbt's compiled SQL (`target/compiled/...`).

Each `*.sql` file (searched recursively) is one `SELECT` that builds a materialised table named like
the file, in the configured `dataset` at the configured `location` (the destination the models run
in: a DuckDB file path, or a location id such as `bigquery://project`). Only the SQL is read, for
lineage; the tables themselves are never queried.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot

from collectors.base import Collector, Dataset, SourceError
from glasspane.config import ConfigError
from glasspane.definition_sql import MODEL, DefinitionError, parse_definition
from glasspane.dlt_meta import duckdb_location, strip_userinfo
from glasspane.records import DatasetBatch, DefinitionRecord


class SqlModelsCollector(Collector):
    """Reads the SQL of materialised models from a folder of `.sql` files."""

    kind = "sql_models"
    required_keys = ("path", "dataset", "location")
    optional_keys = ("dialect",)
    max_parallel = 1

    def __init__(self, config):
        super().__init__(config)
        self.folder = Path(str(self.option("path"))).expanduser().resolve()
        self.dataset = str(self.option("dataset"))
        self.dialect = str(self.option("dialect", "duckdb")).lower()
        try:
            sqlglot.Dialect.get_or_raise(self.dialect)
        except ValueError:
            raise ConfigError(
                f"{config.origin}: source '{config.name}' (kind {self.kind}): unknown dialect '{self.dialect}' "
                "(sqlglot dialects such as duckdb, bigquery, postgres, snowflake)"
            ) from None
        self._location = _location(str(self.option("location")), config.origin)

    @property
    def location(self) -> str:
        return self._location

    def discover(self) -> list[Dataset]:
        if not self.folder.is_dir():
            raise SourceError(str(self.folder), "SQL models folder not found")
        return [Dataset(key=self.dataset, dataset_name=self.dataset, location=self.location)]

    def collect(self, dataset: Dataset, cursor: dict[str, Any]) -> DatasetBatch:
        batch = DatasetBatch(destination_type=self.location.split("://", 1)[0], definitions=[])
        assert batch.definitions is not None
        seen: dict[str, Path] = {}
        for path in sorted(self.folder.rglob("*.sql")):
            name = path.stem
            if name in seen:
                batch.problems.append((str(path), f"a second model named '{name}' (first: {seen[name]}); skipped"))
                continue
            try:
                sql = path.read_text()
            except (OSError, UnicodeDecodeError) as ex:
                batch.problems.append((str(path), f"cannot read it: {type(ex).__name__}"))
                continue
            seen[name] = path
            try:
                parse_definition(sql, self.dialect)
            except DefinitionError as ex:
                batch.problems.append((str(path), str(ex)))
            batch.definitions.append(DefinitionRecord(name, MODEL, self.dialect, sql, str(path)))
        batch.stats["models"] = len(batch.definitions)
        return batch


def _location(value: str, origin: str) -> str:
    """A location id: URLs keep their scheme (without credentials); a plain path is a DuckDB file."""
    if "://" in value:
        if value.startswith("duckdb://"):
            return duckdb_location(value.removeprefix("duckdb://"))
        return strip_userinfo(value).rstrip("/")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(origin).parent / path
    return duckdb_location(str(path))

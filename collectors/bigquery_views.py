"""View definitions of a BigQuery dataset, for lineage: `INFORMATION_SCHEMA.VIEWS`.

Meant for the BigQuery collector: put the result in `DatasetBatch.definitions` of the dataset's
batch. Materialised views are kept up to date by BigQuery itself, so deleting base rows clears
them like views; only their names (not their SQL) are in `INFORMATION_SCHEMA.VIEWS`.
"""

from __future__ import annotations

import re
from typing import Any

from collectors.base import SourceError
from glasspane.definition_sql import VIEW
from glasspane.records import DefinitionRecord

ORIGIN = "INFORMATION_SCHEMA.VIEWS"
_PROJECT = re.compile(r"^[a-z][a-z0-9.:-]{0,127}$", re.IGNORECASE)  # includes domain-scoped `example.com:proj`
_DATASET = re.compile(r"^\w{1,1024}$")


def views_sql(project: str, dataset: str) -> str:
    """The query listing a dataset's views and their SQL; SourceError for names that are not BigQuery's."""
    if not _PROJECT.match(project) or not _DATASET.match(dataset):
        raise SourceError(f"bigquery://{project}/{dataset} {ORIGIN}", "not a valid BigQuery project or dataset name")
    return f"SELECT table_name, view_definition FROM `{project}.{dataset}`.INFORMATION_SCHEMA.VIEWS ORDER BY table_name"


def definitions_from_rows(rows: list[Any]) -> list[DefinitionRecord]:
    """Definition records from the rows of `views_sql`."""
    return [
        DefinitionRecord(row["table_name"], VIEW, "bigquery", row["view_definition"], ORIGIN)
        for row in rows
        if row["view_definition"]
    ]


def bigquery_view_definitions(client: Any, project: str, dataset: str) -> list[DefinitionRecord]:
    """Every view of `project.dataset` with its SQL (dialect `bigquery`), sorted by name.

    `client` is a `google.cloud.bigquery.Client`. Raises SourceError naming the dataset when the
    names are not valid BigQuery names or the query fails (no access, no such dataset).
    """
    sql = views_sql(project, dataset)
    try:
        rows = list(client.query(sql, project=project).result())
    except Exception as ex:  # google.api_core errors: Forbidden, NotFound, BadRequest...
        message = str(getattr(ex, "message", None) or ex).splitlines()[0]
        raise SourceError(f"bigquery://{project}/{dataset} {ORIGIN}", f"{type(ex).__name__}: {message}") from None
    return definitions_from_rows(rows)

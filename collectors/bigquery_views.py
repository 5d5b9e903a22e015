"""View definitions of a BigQuery dataset, for lineage: `INFORMATION_SCHEMA.VIEWS`.

The BigQuery collector runs `views_sql` with its client and puts `definitions_from_rows` of the result
in the dataset batch's `definitions`. Materialised views are kept up to date by BigQuery itself, so
deleting base rows clears them like views; only their names (not their SQL) are in
`INFORMATION_SCHEMA.VIEWS`.
"""

from __future__ import annotations

import re
from typing import Any

from collectors.base import SourceError
from glasspane.definition_sql import VIEW
from glasspane.records import DefinitionRecord

ORIGIN = "INFORMATION_SCHEMA.VIEWS"
VIEW_TABLE_TYPE = "VIEW"  # a view's type in a dataset's table listing (a materialised view's SQL is not in ORIGIN)
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

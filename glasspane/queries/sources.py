"""Sources and their collects."""

from __future__ import annotations

import duckdb
import pandas as pd

from glasspane.queries.common import frame


def sources_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every source with its last collect, status and error."""
    return frame(
        con,
        "SELECT source, kind, location, status, last_collect_at, last_success_at, datasets, runs, error "
        "FROM sources ORDER BY status = 'ok', source",
    )

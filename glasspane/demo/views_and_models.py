"""The demo's governance layer: views over the CRM data in the warehouse, and dbt-style models.

Views (kept by DuckDB itself) copy, normalise, hash and filter on the customers' PII; the models are
materialised into the `analytics` schema and their SQL is kept in a folder, as dbt's compiled SQL is,
for the demo's `sql_models` source.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

VIEWS = {
    "customer_contacts": "SELECT id, name, email, lower(email) AS email_normalised, md5(email) AS email_hash, "
    "segment FROM crm.customers",
    "enterprise_customers": "SELECT id, segment FROM crm.customers WHERE segment = 'enterprise' "
    "AND email NOT LIKE '%@example.org'",
    "customer_cities": "SELECT c.id, a.city, a.street FROM crm.customers c "
    "JOIN crm.customers__addresses a ON a._dlt_root_id = c._dlt_id",
}
MODELS = {
    "customer_emails": "SELECT id, email, md5(email) AS email_hash FROM crm.customers",
    "segment_sizes": "SELECT segment, count(*) AS customers FROM crm.customers GROUP BY segment",
}


def add_views_and_models(warehouse: Path, folder: Path) -> str:
    """Create the views and models in the warehouse and the models' SQL files; return their config section."""
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(duckdb.connect(str(warehouse))) as con:
        for name, sql in VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW crm.{name} AS {sql}")
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        for name, sql in MODELS.items():
            con.execute(f"CREATE OR REPLACE TABLE analytics.{name} AS {sql}")
            (models / f"{name}.sql").write_text(sql + "\n")
    return (
        "# dbt-style models materialised into the warehouse's analytics schema (their SQL, for lineage)\n"
        f'[[sources]]\nname = "demo_models"\nkind = "sql_models"\npath = "{models}"\n'
        f'dataset = "analytics"\nlocation = "{warehouse}"\n'
    )

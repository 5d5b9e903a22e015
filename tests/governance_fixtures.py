"""A governed DuckDB warehouse made by a real dlt pipeline: PII hints on root and nested tables,
views over them in the dataset, and materialised models (with their SQL files) in another schema.
The merge table leaves dlt's staging copies in `crm_staging`; the working folder keeps the load packages."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb

from tests import dlt_fixtures as fx

SUBJECTS = 3  # u0@example.com ... u2@example.com
SUBJECT = "u1@example.com"

VIEWS = {
    # direct copies, a transformation and hashes
    "v_customers": "SELECT id, email, lower(email) AS email_lower, md5(email) AS email_md5, name FROM customers",
    # SELECT * expands from the dlt schema
    "v_customers_all": "SELECT * FROM customers",
    # a CTE and a join to a nested table; sha256 over the CTE's column
    "v_addresses": (
        "WITH c AS (SELECT _dlt_id, email FROM customers) "
        "SELECT a.street, a.city, sha256(c.email) AS email_sha FROM c JOIN customers__addresses a "
        "ON a._dlt_root_id = c._dlt_id"
    ),
    # PII only in a filter: the view's rows depend on it, no column holds it
    "v_corp_events": "SELECT seq FROM events WHERE user_email LIKE '%@corp.example'",
}
MODELS = {
    "customer_keys": "SELECT id, email, md5(email) AS email_md5, lower(email) AS email_lower FROM crm.customers",
    "event_counts": "SELECT md5(user_email) AS email_md5, count(*) AS events FROM crm.events GROUP BY 1",
    "email_domains": "SELECT split_part(email, '@', 2) AS domain, count(*) AS customers FROM crm.customers GROUP BY 1",
}


@dataclass
class Warehouse:
    """Where the fixture lives."""

    path: Path  # the DuckDB file
    models: Path  # the folder of model SQL files
    pipelines: Path


def customers(n: int = SUBJECTS) -> Any:
    """Customers (merge: nested rows get `_dlt_root_id`) with nested addresses and orders with items."""

    @dlt.resource(
        name="customers",
        primary_key="id",
        write_disposition="merge",
        columns=fx.PII_COLUMNS,
        nested_hints=fx.NESTED_PII,
    )
    def _customers() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {
                "id": i,
                "email": f"u{i}@example.com",
                "phone": f"+44 20 7946 00{i:02d}",
                "name": f"Name {i}",
                "addresses": [{"street": f"{i} Main Street", "city": "Leeds"}],
                "orders": [{"order_no": 10 * i + k, "items": [{"sku": "a"}, {"sku": "b"}]} for k in range(2)],
            }

    return _customers


def events(n: int = SUBJECTS) -> Any:
    """Events (append: nested rows only have `_dlt_parent_id`) two per subject, nested two levels deep."""

    @dlt.resource(name="events", write_disposition="append", columns={"user_email": {"x-annotation-pii": "email"}})
    def _events() -> Iterator[dict[str, Any]]:
        for seq in range(2 * n):
            yield {
                "seq": seq,
                "user_email": f"u{seq % n}@example.com",
                "tags": [{"tag": "signup", "notes": [{"text": "first"}, {"text": "second"}]}],
            }

    return _events


def build(folder: Path) -> Warehouse:
    """A fresh copy of the warehouse in `folder` (the real pipeline runs once per test process)."""
    global _template
    if _template is None:
        scratch = Path(tempfile.mkdtemp(prefix="governed-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        _template = build_fresh(scratch)
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(folder / "warehouse.duckdb", folder / "models", _template.pipelines)
    shutil.copyfile(_template.path, warehouse.path)
    shutil.copytree(_template.models, warehouse.models)
    return warehouse


_template: Warehouse | None = None


def build_fresh(folder: Path) -> Warehouse:
    """Run the pipeline, create the views and the materialised models, and write the models' SQL files.

    Its working folder (with the load packages dlt keeps) names this warehouse; `build`'s copies share the
    template's working folder, which names the template's file.
    """
    warehouse = Warehouse(folder / "warehouse.duckdb", folder / "models", folder / "pipelines")
    pipeline = fx.pipeline("crm", warehouse.pipelines, dlt.destinations.duckdb(str(warehouse.path)), "crm")
    fx.run(pipeline, [customers(), events()])
    warehouse.models.mkdir(parents=True)
    with contextlib.closing(duckdb.connect(str(warehouse.path))) as con:
        for name, sql in VIEWS.items():
            con.execute(f"CREATE VIEW crm.{name} AS {sql}")
        con.execute("CREATE SCHEMA marts")
        for name, sql in MODELS.items():
            con.execute(f"CREATE TABLE marts.{name} AS {sql}")
            (warehouse.models / f"{name}.sql").write_text(sql + "\n")
    return warehouse


def count(path: Path, sql: str, params: list[Any] | None = None) -> int:
    """One number from the warehouse, read-only."""
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
        return con.execute(sql, params or []).fetchone()[0]

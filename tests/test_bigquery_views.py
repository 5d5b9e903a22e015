"""BigQuery: view definitions from INFORMATION_SCHEMA.VIEWS, their lineage, and a plan's statements, on bqemulator."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from collectors.base import SourceError
from collectors.bigquery_views import definitions_from_rows, views_sql
from glasspane.governance.deletion.model import DeletionTargets, MatchColumn, TableMeta
from glasspane.governance.deletion.plan import build_plan
from glasspane.governance.lineage import Definition, location_lineage

PROJECT = "glasspane-test"
LOCATION = f"bigquery://{PROJECT}"
TABLES = {
    "customers": "id INT64, email STRING, _dlt_load_id STRING, _dlt_id STRING",
    "customers__addresses": "street STRING, _dlt_root_id STRING, _dlt_parent_id STRING, _dlt_list_idx INT64, "
    "_dlt_id STRING",
}
VIEWS = {
    "v_hashed": f"SELECT id, TO_HEX(SHA256(email)) AS email_sha FROM `{PROJECT}.crm.customers`",
    "v_all": "SELECT * FROM crm.customers",
}


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bigquery():
    """A BigQuery client of a bqemulator REST server on free local ports, with dlt-shaped tables and two views."""
    from duckdb_extensions import import_extension
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery as bq

    import_extension("spatial")  # bqemulator exits without it (and DuckDB cannot download it here)
    rest, grpc = _free_port(), _free_port()
    emulator = Path(sys.executable).with_name("bqemulator")
    server = subprocess.Popen(
        [str(emulator), "start", "--rest-port", str(rest), "--grpc-port", str(grpc), "--project", PROJECT],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{rest}/", timeout=1)
                break
            except urllib.error.HTTPError:  # it answers: it is up
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "bqemulator did not start"
                time.sleep(0.2)
        client = bq.Client(
            project=PROJECT,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{rest}"),
        )
        client.create_dataset("crm")
        for name, columns in TABLES.items():
            client.query(f"CREATE TABLE crm.{name} ({columns})").result()
        for name, sql in VIEWS.items():
            client.query(f"CREATE VIEW crm.{name} AS {sql}").result()
        yield client
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_view_definitions_come_from_information_schema(bigquery):
    # the collector's path: its query, run by its client, rows made into definitions
    found = definitions_from_rows(list(bigquery.query(views_sql(PROJECT, "crm"), project=PROJECT).result()))
    assert [(d.name, d.kind, d.dialect, d.origin) for d in found] == [
        ("v_all", "view", "bigquery", "INFORMATION_SCHEMA.VIEWS"),
        ("v_hashed", "view", "bigquery", "INFORMATION_SCHEMA.VIEWS"),
    ]
    assert found[1].sql == VIEWS["v_hashed"]

    known = {("crm", name): [c.split()[0] for c in columns.split(", ")] for name, columns in TABLES.items()}
    traced = {
        r.definition.name: r
        for r in location_lineage([Definition("crm", d.name, d.kind, d.dialect, d.sql) for d in found], known)
    }
    assert {(e.column_name, e.upstream_column, e.kind, e.hashed, e.expression) for e in traced["v_hashed"].edges} == {
        ("id", "id", "direct", False, "id"),
        ("email_sha", "email", "transformed", True, "TO_HEX(SHA256(email))"),
    }
    assert traced["v_all"].columns == ["id", "email", "_dlt_load_id", "_dlt_id"]


def test_names_that_are_not_bigquery_names_never_reach_a_query(bigquery):
    # (bqemulator answers an unknown dataset with no rows, where BigQuery raises NotFound: not testable here)
    with pytest.raises(SourceError) as bad:
        views_sql(PROJECT, "crm`; DROP TABLE x; --")
    assert str(bad.value) == (
        f"bigquery://{PROJECT}/crm`; DROP TABLE x; -- INFORMATION_SCHEMA.VIEWS: not a valid BigQuery project or "
        "dataset name"
    )


def test_a_plans_bigquery_statements_delete_the_subject_and_its_nested_rows(bigquery):
    bigquery.query(
        "INSERT INTO crm.customers VALUES (1, 'a@example.com', 'l', 'r1'), (2, 'b@example.com', 'l', 'r2')"
    ).result()
    bigquery.query(
        "INSERT INTO crm.customers__addresses VALUES ('1 Main St', 'r1', 'r1', 0, 'c1'), "
        "('2 Main St', 'r2', 'r2', 0, 'c2'), ('3 Main St', 'r1', 'r1', 1, 'c3')"
    ).result()
    tables = {
        name: TableMeta(name, "customers" if "__" in name else None, frozenset(c.split()[0] for c in cols.split(", ")))
        for name, cols in TABLES.items()
    }
    match = MatchColumn(LOCATION, "crm", "customers", "email", "text")
    targets = DeletionTargets("email", matches=[match], tables={(LOCATION, "crm"): tables})
    plan = build_plan(targets, "a@example.com", "hash")
    assert [s.masked for s in plan.statements] == [
        f"DELETE FROM `{PROJECT}`.`crm`.`customers__addresses` WHERE `_dlt_root_id` IN "
        f"(SELECT `_dlt_id` FROM `{PROJECT}`.`crm`.`customers` WHERE `email` = @subject)",
        f"DELETE FROM `{PROJECT}`.`crm`.`customers` WHERE `email` = @subject",
    ]
    for step in plan.statements:  # what a user runs from the exported file
        bigquery.query(step.statement).result()
    assert [tuple(r.values()) for r in bigquery.query("SELECT email FROM crm.customers").result()] == [
        ("b@example.com",)
    ]
    remaining = bigquery.query("SELECT street FROM crm.customers__addresses ORDER BY street").result()
    assert [tuple(r.values()) for r in remaining] == [("2 Main St",)]

"""Suspected PII by column name, and schema diffs between real dlt schema versions."""

from __future__ import annotations

import dlt
import pytest

from glasspane.governance.pii import suspect
from glasspane.queries.schema import diff_versions
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, source


@pytest.mark.parametrize(
    ("column", "table", "kind"),
    [
        ("customer_email", "", "email"),
        ("emailAddress", "", "email"),
        ("ip_address", "", "ip_address"),
        ("phone_number", "", "phone"),
        ("first_name", "", "name"),
        ("name", "customers", "name"),
        ("street", "", "address"),
        ("birth_date", "", "date_of_birth"),
        ("ssn", "", "national_id"),
        ("iban", "", "financial"),
    ],
)
def test_personal_looking_names_are_suspected_with_a_reason(column, table, kind):
    found = suspect(column, table)
    assert found is not None and found.kind == kind
    assert found.reason  # the page shows why


@pytest.mark.parametrize(
    "column", ["amount", "pipeline_name", "product_name", "_dlt_id", "platform", "hotel_id", "mail_server"]
)
def test_ordinary_names_are_not_suspected(column):
    assert suspect(column, "orders") is None
    assert suspect("name", "products") is None


def test_diff_between_stored_versions_lists_added_columns_with_their_pii_tag(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")

    @dlt.resource(name="users", columns={"email": {"x-annotation-pii": "email"}})
    def more_users():
        yield {"id": 9, "email": "x@example.com", "phone": "1", "addresses": [], "nickname": "n", "age": "old"}

    fx.run(p, fx.users(2), load_trace=False)
    p.run(more_users())
    collect_into(store, source("wh", "duckdb", path=str(warehouse)))
    with store.reader() as con:
        versions = con.execute(
            "SELECT location, version_hash FROM schema_versions WHERE dataset_name = 'crm' ORDER BY version"
        ).fetchall()
        changes = diff_versions(con, versions[0][0], "crm", "crm", versions[0][1], versions[-1][1])
    added = {(c.table_name, c.column_name): c for c in changes if c.change == "column_added"}
    assert ("users", "nickname") in added and ("users", "age") in added
    assert not added[("users", "nickname")].pii and added[("users", "nickname")].pii_kind is None

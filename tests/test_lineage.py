"""Column lineage and PII propagation, from views and models over a real dlt pipeline's DuckDB dataset."""

from __future__ import annotations

import contextlib

import duckdb
import pytest

from glasspane.governance.lineage import Definition, location_lineage, propagate_pii
from glasspane.store import Store
from tests import governance_fixtures as gf
from tests.conftest import collect_into, rows, source


def sources(warehouse: gf.Warehouse):
    return (
        source("wh", "duckdb", path=str(warehouse.path)),
        source("dbt", "sql_models", path=str(warehouse.models), dataset="marts", location=str(warehouse.path)),
    )


@pytest.fixture(scope="module")
def governed(tmp_path_factory) -> tuple[gf.Warehouse, Store]:
    """The governed warehouse, collected once for the read-only tests of this module."""
    folder = tmp_path_factory.mktemp("governed")
    warehouse = gf.build(folder)
    store = Store(folder / "store.duckdb")
    summary = collect_into(store, *sources(warehouse))
    assert summary.ok, [o.errors for o in summary.outcomes]
    return warehouse, store


def edges(store: Store, table: str) -> set[tuple]:
    """(column, upstream table.column, kind, hashed) of one derived table."""
    found = rows(
        store,
        "SELECT column_name, upstream_table || '.' || upstream_column, kind, hashed FROM column_lineage "
        "WHERE table_name = ?",
        [table],
    )
    return set(found)


def test_views_and_models_are_collected_with_their_columns(governed):
    _, store = governed
    found = rows(store, "SELECT dataset_name, name, kind, origin, lineage_error FROM definitions ORDER BY 1, 2")
    assert [(d, n, k) for d, n, k, _, _ in found] == [
        ("crm", "v_addresses", "view"),
        ("crm", "v_corp_events", "view"),
        ("crm", "v_customers", "view"),
        ("crm", "v_customers_all", "view"),
        ("marts", "customer_keys", "model"),
        ("marts", "email_domains", "model"),
        ("marts", "event_counts", "model"),
    ]
    assert all(error is None for *_, error in found)
    assert {origin for _, _, k, origin, _ in found if k == "view"} == {"duckdb_views()"}
    assert {origin for _, _, k, origin, _ in found if k == "model"} == {
        str(governed[0].models / f"{name}.sql") for name in gf.MODELS
    }


def test_direct_copies_transformations_and_hashes(governed):
    _, store = governed
    assert edges(store, "v_customers") == {
        ("id", "customers.id", "direct", False),
        ("email", "customers.email", "direct", False),
        ("email_lower", "customers.email", "transformed", False),
        ("email_md5", "customers.email", "transformed", True),
        ("name", "customers.name", "direct", False),
    }


def test_select_star_expands_from_the_dlt_schema(governed):
    _, store = governed
    found = edges(store, "v_customers_all")
    assert {c for c, *_ in found} == {"id", "email", "phone", "name", "_dlt_id", "_dlt_load_id"}
    assert all(kind == "direct" and upstream == f"customers.{column}" for column, upstream, kind, _ in found)


def test_a_cte_and_a_join_trace_to_the_base_tables_and_join_keys_are_filters(governed):
    _, store = governed
    assert edges(store, "v_addresses") == {
        ("street", "customers__addresses.street", "direct", False),
        ("city", "customers__addresses.city", "direct", False),
        ("email_sha", "customers.email", "transformed", True),  # sha256 over the CTE's copy of email
        (None, "customers__addresses._dlt_root_id", "filter", False),
        (None, "customers._dlt_id", "filter", False),
    }


def test_pii_only_in_a_filter_is_a_table_level_filter_edge(governed):
    _, store = governed
    assert edges(store, "v_corp_events") == {
        ("seq", "events.seq", "direct", False),
        (None, "events.user_email", "filter", False),
    }
    assert rows(store, "SELECT table_name, pii_kind, filtered_on FROM pii_filters") == [
        ("v_corp_events", "email", "crm.events.user_email")
    ]


def test_models_in_another_dataset_trace_to_the_dlt_dataset(governed):
    _, store = governed
    assert rows(
        store,
        "SELECT DISTINCT dataset_name, upstream_dataset, definition_kind FROM column_lineage "
        "WHERE table_name = 'customer_keys'",
    ) == [("marts", "crm", "model")]
    assert ("domain", "customers.email", "transformed", False) in edges(store, "email_domains")


def test_inherited_pii_is_marked_with_its_upstream_and_hashes_are_pseudonymised(governed):
    _, store = governed
    found = rows(
        store,
        "SELECT table_name, column_name, pii_kind, relation, pseudonymised, note FROM inherited_pii "
        "WHERE table_name IN ('v_customers', 'v_addresses', 'event_counts') ORDER BY 1, 2",
    )
    assert found == [
        (
            "event_counts",
            "email_md5",
            "email",
            "transformed",
            True,
            "inherited via crm.events.user_email (hashed: pseudonymised)",
        ),
        (
            "v_addresses",
            "email_sha",
            "email",
            "transformed",
            True,
            "inherited via crm.customers.email (hashed: pseudonymised)",
        ),
        ("v_addresses", "street", "address", "direct", False, "inherited via crm.customers__addresses.street"),
        ("v_customers", "email", "email", "direct", False, "inherited via crm.customers.email"),
        ("v_customers", "email_lower", "email", "transformed", False, "inherited via crm.customers.email"),
        (
            "v_customers",
            "email_md5",
            "email",
            "transformed",
            True,
            "inherited via crm.customers.email (hashed: pseudonymised)",
        ),
    ]
    # non-PII columns inherit nothing; a filter-only view has no inherited column
    assert rows(store, "SELECT count(*) FROM inherited_pii WHERE column_name IN ('id', 'name', 'city', 'seq')") == [
        (0,)
    ]


def test_inherited_pii_rows_have_the_shape_of_hinted_pii_rows(governed):
    from glasspane.queries.governance import inherited_pii_rows

    _, store = governed
    with store.reader() as con:
        hinted = con.execute("SELECT * FROM columns WHERE pii LIMIT 1").df()
        inherited = inherited_pii_rows(con)
    assert len(hinted.columns) > 10  # the `columns` view's own columns, in its order
    assert tuple(inherited.columns[: len(hinted.columns)]) == tuple(hinted.columns)
    row = inherited[(inherited["table_name"] == "v_customers") & (inherited["column_name"] == "email_md5")].iloc[0]
    assert (row["source"], row["pii"], row["pii_kind"], row["pseudonymised"]) == ("wh", True, "email", True)
    assert row["note"] == "inherited via crm.customers.email (hashed: pseudonymised)"


def test_recollect_follows_dropped_and_changed_views_and_keeps_first_seen(tmp_path, store):
    warehouse = gf.build(tmp_path)
    assert collect_into(store, *sources(warehouse)).ok
    [(first_seen,)] = rows(store, "SELECT first_seen_at FROM definitions WHERE name = 'v_customers'")
    with contextlib.closing(duckdb.connect(str(warehouse.path))) as con:
        con.execute("DROP VIEW crm.v_customers_all")
        con.execute("CREATE OR REPLACE VIEW crm.v_customers AS SELECT id, name FROM crm.customers")
        con.execute("CREATE VIEW crm.v_vip AS SELECT id FROM crm.customers WHERE email = 'vip@example.com'")
    assert collect_into(store, *sources(warehouse)).ok
    [(vip_sql,)] = rows(store, "SELECT sql FROM definitions WHERE name = 'v_vip'")
    assert "vip@example.com" not in vip_sql and "'<email>'" in vip_sql  # no data value in the store
    assert edges(store, "v_vip") == {
        ("id", "customers.id", "direct", False),
        (None, "customers.email", "filter", False),
    }
    assert rows(store, "SELECT count(*) FROM definitions WHERE name = 'v_customers_all'") == [(0,)]
    assert rows(store, "SELECT first_seen_at FROM definitions WHERE name = 'v_customers'") == [(first_seen,)]
    assert rows(store, "SELECT count(*) FROM inherited_pii WHERE table_name IN ('v_customers', 'v_customers_all')") == [
        (0,)
    ]
    assert len(edges(store, "v_addresses")) == 5  # unchanged definitions keep their lineage


def test_a_model_file_that_is_not_sql_is_named_and_the_rest_is_traced(tmp_path, store):
    warehouse = gf.build(tmp_path)
    (warehouse.models / "broken.sql").write_text("SELEC id FROM crm.customers\n")
    (warehouse.models / "deleted_rows.sql").write_text("DELETE FROM crm.customers\n")
    summary = collect_into(store, *sources(warehouse))
    [outcome] = [o for o in summary.outcomes if o.errors]
    assert outcome.source == "dbt"
    assert sorted(outcome.errors) == [
        f"source 'dbt': {warehouse.models / 'broken.sql'}: sqlglot cannot parse it as duckdb SQL: "
        "Invalid expression / Unexpected token. Line 1, Col: 13.",
        f"source 'dbt': {warehouse.models / 'deleted_rows.sql'}: not a query: DELETE statement (expected SELECT)",
    ]
    assert rows(store, "SELECT name, lineage_error IS NOT NULL FROM definitions WHERE kind = 'model' ORDER BY 1") == [
        ("broken", True),
        ("customer_keys", False),
        ("deleted_rows", True),
        ("email_domains", False),
        ("event_counts", False),
    ]
    assert rows(store, "SELECT count(*) FROM inherited_pii WHERE table_name = 'customer_keys'") == [(3,)]


def test_sql_models_config_mistakes_are_one_line(tmp_path, store):
    from collectors import registry
    from glasspane.config import ConfigError

    with pytest.raises(ConfigError, match=r"source 'm' \(kind sql_models\): unknown dialect 'duckbd'"):
        registry.build(
            source("m", "sql_models", path=str(tmp_path), dataset="d", location="x.duckdb", dialect="duckbd")
        )
    with pytest.raises(ConfigError, match=r"source 'm' \(kind sql_models\): missing required key 'dataset'"):
        registry.build(source("m", "sql_models", path=str(tmp_path), location="x.duckdb"))
    summary = collect_into(store, source("m", "sql_models", path=str(tmp_path / "nope"), dataset="d", location="x"))
    assert summary.outcomes[0].errors == [f"source 'm': {tmp_path / 'nope'}: SQL models folder not found"]


# Pure lineage: cases the fixture does not cover.
KNOWN = {("crm", "customers"): ["id", "email", "phone"], ("crm", "orders"): ["oid", "customer_email", "amount"]}


def trace(*definitions: Definition) -> dict[str, object]:
    return {r.definition.name: r for r in location_lineage(definitions, KNOWN)}


def test_union_branches_views_over_views_and_declared_column_names():
    found = trace(
        Definition("crm", "v2", "view", "duckdb", "CREATE VIEW v2 (who, h) AS SELECT contact, md5(contact) FROM v1"),
        Definition(
            "crm",
            "v1",
            "view",
            "duckdb",
            "SELECT email AS contact FROM customers UNION ALL SELECT customer_email FROM crm.orders",
        ),
    )
    v1, v2 = found["v1"], found["v2"]
    assert v1.columns == ["contact"] and v2.columns == ["who", "h"]
    assert {(e.upstream_table, e.upstream_column, e.kind) for e in v1.edges} == {
        ("customers", "email", "direct"),
        ("orders", "customer_email", "direct"),
    }
    assert {(e.column_name, e.upstream_table, e.kind, e.hashed) for e in v2.edges} == {
        ("who", "v1", "direct", False),
        ("h", "v1", "transformed", True),
    }
    inherited = propagate_pii(v1.edges + v2.edges, {("crm", "customers", "email"): "email"}, "duckdb")
    found = {(i.table_name, i.column_name, i.relation, i.pseudonymised, i.hops, i.value_expression) for i in inherited}
    assert found == {
        ("v1", "contact", "direct", False, 1, "email"),
        ("v2", "who", "direct", False, 2, "email"),
        ("v2", "h", "transformed", True, 2, "MD5(email)"),
    }


def test_only_one_to_one_expressions_can_match_rows_by_value():
    found = trace(
        Definition(
            "crm",
            "m",
            "model",
            "duckdb",
            "SELECT upper(trim(email)) AS a, sha256(lower(email)) AS b, split_part(email, '@', 2) AS c, "
            "concat(email, phone) AS d, max(email) OVER () AS e FROM customers",
        ),
    )
    by_column = {e.column_name: e.expression for e in found["m"].edges if e.upstream_column == "email"}
    assert by_column == {"a": "UPPER(TRIM(email))", "b": "SHA256(LOWER(email))", "c": None, "d": None, "e": None}


def test_filters_in_subqueries_and_having_are_filter_edges():
    found = trace(
        Definition(
            "crm",
            "v",
            "view",
            "duckdb",
            "SELECT oid FROM orders WHERE customer_email IN (SELECT email FROM customers WHERE phone <> '')",
        ),
        Definition(
            "crm",
            "g",
            "view",
            "duckdb",
            "SELECT customer_email AS e, sum(amount) AS total FROM orders GROUP BY 1 HAVING sum(amount) > 0",
        ),
    )
    assert {(e.upstream_table, e.upstream_column) for e in found["v"].edges if e.kind == "filter"} == {
        ("orders", "customer_email"),
        ("customers", "email"),
        ("customers", "phone"),
    }
    # a column that is also selected is not listed again as a filter
    assert {(e.column_name, e.upstream_column, e.kind) for e in found["g"].edges} == {
        ("e", "customer_email", "direct"),
        ("total", "amount", "transformed"),
    }


def test_a_result_is_reused_only_while_its_sql_and_inputs_are_unchanged():
    view = Definition("crm", "v", "view", "duckdb", "SELECT * FROM customers")
    [first] = location_lineage([view], KNOWN)
    [reused] = location_lineage([view], KNOWN, {first.input_key: first})
    assert reused.input_key == first.input_key and reused.edges is first.edges
    wider = {**KNOWN, ("crm", "customers"): [*KNOWN[("crm", "customers")], "name"]}
    [recomputed] = location_lineage([view], wider, {first.input_key: first})
    assert recomputed.input_key != first.input_key and recomputed.columns == ["id", "email", "phone", "name"]


def test_definitions_that_cannot_be_traced_say_why_and_do_not_stop_the_others():
    found = trace(
        Definition("crm", "bad_sql", "view", "duckdb", "SELEC 1"),
        Definition("crm", "unknown_star", "view", "duckdb", "SELECT * FROM crm.not_collected"),
        Definition("crm", "two", "model", "duckdb", "SELECT 1; SELECT 2"),
        Definition("crm", "ok", "view", "duckdb", "SELECT email FROM customers"),
    )
    assert found["bad_sql"].error.startswith("sqlglot cannot parse it as duckdb SQL: ")
    assert found["unknown_star"].error == (
        "SELECT * over a table whose columns are unknown: crm.not_collected (not a collected dlt table or definition)"
    )
    assert found["two"].error == "expected one SELECT statement, found 2 statements"
    assert found["ok"].error is None and found["ok"].columns == ["email"]

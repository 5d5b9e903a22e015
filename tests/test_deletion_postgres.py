"""Executing a deletion plan on Postgres (a real server on loopback), on tables a real dlt pipeline loaded,
planned from the pipeline's working folder: dlt's credentials from its config, the value as a parameter."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dlt
import psycopg
import pytest

from glasspane.governance.deletion.execute import DELETED, FAILED, NOT_RUN, ROLLED_BACK, execute, plan_for
from glasspane.settings import environment
from tests import dlt_fixtures as fx
from tests import governance_fixtures as gf
from tests.conftest import collect_into, rows, source
from tests.servers import Postgres
from tests.test_deletion import OTHERS, assert_value_not_stored

ROOT = "(SELECT _dlt_id FROM {d}.customers WHERE email = %(s)s)"
EVENT = "(SELECT _dlt_id FROM crm.events WHERE user_email = %(s)s)"
COUNTS = {
    "crm.customers": "SELECT count(*) FROM crm.customers WHERE email = %(s)s",
    "crm.customers__addresses": f"SELECT count(*) FROM crm.customers__addresses WHERE _dlt_root_id IN {ROOT}",
    "crm.customers__orders__items": f"SELECT count(*) FROM crm.customers__orders__items WHERE _dlt_root_id IN {ROOT}",
    "crm.events": "SELECT count(*) FROM crm.events WHERE user_email = %(s)s",
    "crm.events__tags__notes": "SELECT count(*) FROM crm.events__tags__notes n JOIN crm.events__tags t "
    f"ON n._dlt_parent_id = t._dlt_id WHERE t._dlt_parent_id IN {EVENT}",
    "crm_staging.customers": "SELECT count(*) FROM crm_staging.customers WHERE email = %(s)s",
    "crm_staging.customers__orders": "SELECT count(*) FROM crm_staging.customers__orders WHERE _dlt_root_id IN "
    + ROOT.replace("{d}", "crm_staging"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    pg = Postgres()
    yield pg
    pg.stop()


@pytest.fixture
def warehouse(server, tmp_path, store, request) -> str:
    """A database loaded by the governed dlt pipeline, collected from the pipeline's working folder."""
    url = server.create_database(f"wh_{abs(hash(request.node.name)) % 10**8}")
    pipeline = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.postgres(credentials=url), "crm")
    fx.run(pipeline, [gf.customers(), gf.events()])
    assert collect_into(store, source("laptop", "pipelines_dir", path=str(tmp_path / "pipelines"))).ok
    return url


def counts(url: str, subject: str) -> dict[str, int]:
    with contextlib.closing(psycopg.connect(url)) as con:
        return {
            name: con.execute(sql.replace("{d}", "crm"), {"s": subject}).fetchone()[0] for name, sql in COUNTS.items()
        }


def test_executing_on_postgres_deletes_the_subject_with_nested_and_staged_rows_and_nothing_else(
    server, warehouse, store, caplog, capfd
):
    before = {subject: counts(warehouse, subject) for subject in OTHERS}
    assert counts(warehouse, gf.SUBJECT) == {
        "crm.customers": 1,
        "crm.customers__addresses": 1,
        "crm.customers__orders__items": 4,
        "crm.events": 2,
        "crm.events__tags__notes": 4,
        "crm_staging.customers": 1,
        "crm_staging.customers__orders": 2,
    }
    plan = plan_for(store, "email", gf.SUBJECT)
    location = f"postgresql://127.0.0.1:{server.port}/{warehouse.rsplit('/', 1)[1]}"
    assert {s.location for s in plan.statements} == {location}
    with environment(DESTINATION__POSTGRES__CREDENTIALS=warehouse):  # dlt's own config key for the destination
        report = execute(plan, gf.SUBJECT, store, "dpo@test")
    assert report.complete, report.lines()
    assert report.rows_deleted == 24

    assert set(counts(warehouse, gf.SUBJECT).values()) == {0}
    assert {subject: counts(warehouse, subject) for subject in OTHERS} == before
    audit = rows(
        store,
        "SELECT location, dataset_name || '.' || table_name, status, rows_deleted FROM deletion_audit ORDER BY step",
    )
    assert [a[1:] for a in audit] == [
        ("crm.customers__orders__items", DELETED, 4),
        ("crm.customers__addresses", DELETED, 1),
        ("crm.customers__orders", DELETED, 2),
        ("crm.customers", DELETED, 1),
        ("crm_staging.customers__orders__items", DELETED, 4),
        ("crm_staging.customers__addresses", DELETED, 1),
        ("crm_staging.customers__orders", DELETED, 2),
        ("crm_staging.customers", DELETED, 1),
        ("crm.events__tags__notes", DELETED, 4),
        ("crm.events__tags", DELETED, 2),
        ("crm.events", DELETED, 2),
    ]
    assert {a[0] for a in audit} == {location}
    assert_value_not_stored(store, gf.SUBJECT)
    assert find_in_text(store, server.password) == 0
    captured = capfd.readouterr()
    assert gf.SUBJECT not in caplog.text + captured.out + captured.err


def find_in_text(store, text: str) -> int:
    """Audit rows mentioning `text` anywhere."""
    return rows(
        store, "SELECT count(*) FROM deletion_audit WHERE contains(CAST(deletion_audit AS VARCHAR), ?)", [text]
    )[0][0]


def test_a_failing_statement_on_postgres_rolls_the_database_back(warehouse, store):
    plan = plan_for(store, "email", gf.SUBJECT)
    with contextlib.closing(psycopg.connect(warehouse, autocommit=True)) as con:  # changed since the plan
        con.execute("ALTER TABLE crm.events RENAME COLUMN user_email TO contact")
    with environment(DESTINATION__POSTGRES__CREDENTIALS=warehouse):
        report = execute(plan, gf.SUBJECT, store, "dpo@test")
    statuses = {o.step.qualified_name: (o.status, o.error) for o in report.outcomes}
    assert statuses["crm.customers"] == (ROLLED_BACK, "rolled back: crm.events__tags__notes failed")
    assert statuses["crm.events__tags__notes"] == (FAILED, 'column "user_email" does not exist')
    assert statuses["crm.events"] == (NOT_RUN, "not run: crm.events__tags__notes failed")
    with contextlib.closing(psycopg.connect(warehouse)) as con:
        assert con.execute("SELECT count(*) FROM crm.customers WHERE email = %s", [gf.SUBJECT]).fetchone()[0] == 1


@pytest.mark.parametrize("case", ["no credentials", "another database", "wrong password"])
def test_a_postgres_database_that_cannot_be_used_stops_everything_before_anything_runs(
    server, warehouse, store, case, monkeypatch
):
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    plan = plan_for(store, "email", gf.SUBJECT)
    database = warehouse.rsplit("/", 1)[1]
    configured = {
        "no credentials": {},
        "another database": {"DESTINATION__POSTGRES__CREDENTIALS": server.url("postgres")},
        "wrong password": {"DESTINATION__POSTGRES__CREDENTIALS": server.url(database, password="not-it")},
    }[case]
    with environment(**configured):
        report = execute(plan, gf.SUBJECT, store, "dpo@test")
    reason = {
        "no credentials": "no Postgres credentials: set [destination.postgres.credentials] in .dlt/secrets.toml",
        "another database": "the credentials in [destination.postgres.credentials] are for "
        f"postgresql://127.0.0.1:{server.port}/postgres, not this database",
        "wrong password": "cannot connect: connection failed: ",
    }[case]
    assert {o.status for o in report.outcomes} == {NOT_RUN}
    error = report.outcomes[0].error
    assert error.startswith(f"nothing was executed: postgresql://127.0.0.1:{server.port}/{database}: {reason}")
    assert "not-it" not in error and server.password not in error
    assert counts(warehouse, gf.SUBJECT)["crm.customers"] == 1

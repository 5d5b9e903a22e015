"""Executing a deletion plan on BigQuery (the bqemulator REST API), on tables a real dlt pipeline loaded:
a merge table with nested tables and its staging copies, an append table nested two levels deep, a view."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors import registry
from glasspane.governance.deletion.execute import DELETED, FAILED, NOT_RUN, ROLLED_BACK, execute, plan_for
from glasspane.governance.deletion.model import CLEARED
from tests import dlt_fixtures as fx
from tests import governance_fixtures as gf
from tests.conftest import collect_into, rows, source
from tests.test_bigquery import COLLECTOR, BigQueryWorld, credentials, is_query
from tests.test_deletion import OTHERS, assert_value_not_stored

# the subject's rows in each table, found through the data (nested rows through their parents)
_ROOT = "(SELECT _dlt_id FROM `{p}.{d}.customers` WHERE email = @s)"
_EVENT = "(SELECT _dlt_id FROM `{p}.{d}.events` WHERE user_email = @s)"
COUNTS = {
    "customers": "SELECT count(*) FROM `{p}.{d}.customers` WHERE email = @s",
    "customers__addresses": f"SELECT count(*) FROM `{{p}}.{{d}}.customers__addresses` WHERE _dlt_parent_id IN {_ROOT}",
    "customers__orders": f"SELECT count(*) FROM `{{p}}.{{d}}.customers__orders` WHERE _dlt_parent_id IN {_ROOT}",
    "customers__orders__items": "SELECT count(*) FROM `{p}.{d}.customers__orders__items` i JOIN "
    f"`{{p}}.{{d}}.customers__orders` o ON i._dlt_parent_id = o._dlt_id WHERE o._dlt_parent_id IN {_ROOT}",
    "events": "SELECT count(*) FROM `{p}.{d}.events` WHERE user_email = @s",
    "events__tags": f"SELECT count(*) FROM `{{p}}.{{d}}.events__tags` WHERE _dlt_parent_id IN {_EVENT}",
    "events__tags__notes": "SELECT count(*) FROM `{p}.{d}.events__tags__notes` n JOIN `{p}.{d}.events__tags` t "
    f"ON n._dlt_parent_id = t._dlt_id WHERE t._dlt_parent_id IN {_EVENT}",
}
STAGED = ("customers", "customers__addresses", "customers__orders", "customers__orders__items")
_projects = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[BigQueryWorld]:
    folder = tmp_path_factory.mktemp("bigquery-deletion")
    world = BigQueryWorld(folder / "emulator.log")
    yield world
    world.stop()


@pytest.fixture
def project(world, tmp_path) -> str:
    """A project of its own per test, loaded by the governed dlt pipeline, with a view over its PII."""
    name = f"proj-del-{next(_projects)}"
    with world.loading():
        fx.run(world.pipeline("crm", tmp_path / "pipelines", name, "crm"), [gf.customers(), gf.events()])
    world.client(name).query(f"CREATE VIEW `{name}.crm.v_customers` AS SELECT id, email FROM `{name}.crm.customers`")
    return name


def warehouse(world: BigQueryWorld, project: str):
    return source("bq", "bigquery", project=project, api_endpoint=world.proxy.endpoint)


def count(world: BigQueryWorld, project: str, dataset: str, table: str, subject: str) -> int:
    """Rows of one subject in one table."""
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("s", "STRING", subject)])
    query = COUNTS[table].format(p=project, d=dataset)
    return next(iter(world.client(project).query(query, job_config=config).result()))[0]


def counts(world: BigQueryWorld, project: str, subject: str) -> dict[str, int]:
    """Rows of one subject in every table, dlt's staging copies included."""
    tables = [("crm", t) for t in COUNTS] + [("crm_staging", t) for t in STAGED]
    return {f"{dataset}.{table}": count(world, project, dataset, table, subject) for dataset, table in tables}


def collected(store, world: BigQueryWorld, project: str):
    with credentials("bq", COLLECTOR, world.tokens.url):
        summary = collect_into(store, warehouse(world, project))
    assert summary.ok, summary.outcomes[0].errors
    return warehouse(world, project)


def test_executing_on_bigquery_deletes_the_subject_with_nested_and_staged_rows_and_nothing_else(
    world, project, store, caplog, capfd
):
    bq = collected(store, world, project)
    before = {subject: counts(world, project, subject) for subject in OTHERS}
    assert set(counts(world, project, gf.SUBJECT).values()) != {0}
    plan = plan_for(store, "email", gf.SUBJECT)
    assert [s.qualified_name for s in plan.steps if s.action == CLEARED] == ["crm.v_customers"]
    world.proxy.clear()
    with credentials("bq", COLLECTOR, world.tokens.url):
        report = execute(plan, gf.SUBJECT, store, "dpo@test", registry.bigquery_opener([bq]))
    assert report.complete, report.lines()
    assert report.rows_deleted == 24

    assert set(counts(world, project, gf.SUBJECT).values()) == {0}
    assert {subject: counts(world, project, subject) for subject in OTHERS} == before
    audit = rows(
        store,
        "SELECT location, dataset_name, table_name, status, rows_deleted, executed_by, subject_hash "
        "FROM deletion_audit ORDER BY step",
    )
    assert [(a[1], a[2], a[3], a[4]) for a in audit] == [
        ("crm", "customers__orders__items", DELETED, 4),
        ("crm", "customers__addresses", DELETED, 1),
        ("crm", "customers__orders", DELETED, 2),
        ("crm", "customers", DELETED, 1),
        ("crm_staging", "customers__orders__items", DELETED, 4),
        ("crm_staging", "customers__addresses", DELETED, 1),
        ("crm_staging", "customers__orders", DELETED, 2),
        ("crm_staging", "customers", DELETED, 1),
        ("crm", "events__tags__notes", DELETED, 4),
        ("crm", "events__tags", DELETED, 2),
        ("crm", "events", DELETED, 2),
    ]
    assert {(a[0], a[5], a[6]) for a in audit} == {(f"bigquery://{project}", "dpo@test", plan.subject_hash)}

    # with the collector's credentials from dlt's config, in one transaction, the value only as a parameter
    jobs = [json.loads(r.body)["configuration"]["query"] for r in world.proxy.requests if is_query(r)]
    deletes = [j for j in jobs if j["query"].startswith("DELETE")]
    assert [j["query"] for j in jobs] == [
        "BEGIN TRANSACTION",
        *(j["query"] for j in deletes),
        "COMMIT TRANSACTION",
        "CALL BQ.ABORT_SESSION()",
    ]
    assert len(deletes) == 11 and all(gf.SUBJECT not in j["query"] for j in deletes)
    assert {p["parameterValue"]["value"] for j in deletes for p in j["queryParameters"]} == {gf.SUBJECT}
    assert len({p["value"] for j in jobs[1:] for p in j["connectionProperties"]}) == 1  # one session
    assert all(r.headers.get("authorization", "").startswith("Bearer token-") for r in world.proxy.requests)
    assert_value_not_stored(store, gf.SUBJECT)
    captured = capfd.readouterr()
    assert gf.SUBJECT not in caplog.text + captured.out + captured.err


def test_a_failing_statement_on_bigquery_rolls_the_project_back(world, project, store):
    bq = collected(store, world, project)
    plan = plan_for(store, "email", gf.SUBJECT)
    # the table changed since the plan: the last statements fail after the customers' deletes ran
    world.client(project).query(f"ALTER TABLE `{project}.crm.events` RENAME COLUMN user_email TO contact").result()
    with credentials("bq", COLLECTOR, world.tokens.url):
        report = execute(plan, gf.SUBJECT, store, "dpo@test", registry.bigquery_opener([bq]))
    assert not report.complete
    statuses = {o.step.qualified_name: (o.status, o.error) for o in report.outcomes}
    assert statuses["crm.customers"] == (ROLLED_BACK, "rolled back: crm.events__tags__notes failed")
    status, error = statuses["crm.events__tags__notes"]
    assert status == FAILED and error.startswith("BigQuery error (400): ") and gf.SUBJECT not in error
    assert [count(world, project, "crm", t, gf.SUBJECT) for t in STAGED] == [1, 1, 2, 4]  # nothing was deleted
    assert report.lines()[-1].startswith("NOT COMPLETE: 0 statements ran (0 rows deleted)")


@pytest.mark.parametrize("case", ["unconfigured", "unreachable"])
def test_a_bigquery_project_that_cannot_be_used_stops_everything_before_anything_runs(world, project, store, case):
    collected(store, world, project)
    plan = plan_for(store, "email", gf.SUBJECT)
    if case == "unconfigured":
        sources, reason = [], f"no bigquery source in the config reads project {project}"
    else:
        down = source("bq", "bigquery", project=project, api_endpoint="http://127.0.0.1:9", timeout_s=1)
        sources, reason = [down], "gave up after retrying until the timeout: cannot reach BigQuery"
    with credentials("bq", COLLECTOR, world.tokens.url):
        report = execute(plan, gf.SUBJECT, store, "dpo@test", registry.bigquery_opener(sources))
    assert {o.status for o in report.outcomes} == {NOT_RUN}
    assert report.outcomes[0].error.startswith(f"nothing was executed: bigquery://{project}: {reason}")
    assert count(world, project, "crm", "customers", gf.SUBJECT) == 1
    assert rows(store, "SELECT count(*), min(status) FROM deletion_audit") == [(len(plan.statements), NOT_RUN)]


def test_the_cli_executes_on_bigquery_with_the_sources_in_the_config(world, project, store, tmp_path: Path):
    from tests.test_deletion import forget

    collected(store, world, project)
    config = tmp_path / "glasspane.toml"
    config.write_text(
        f'[[sources]]\nname = "bq"\nkind = "bigquery"\nproject = "{project}"\napi_endpoint = "{world.proxy.endpoint}"\n'
    )
    with credentials("bq", COLLECTOR, world.tokens.url):
        done = forget(
            "--column-kind",
            "email",
            "--value",
            "-",
            "--store",
            str(store.path),
            "--config",
            str(config),
            "--execute",
            "--by",
            "dpo@test",
            stdin=gf.SUBJECT,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done: 24 rows deleted by 11 statements" in done.stdout and gf.SUBJECT not in done.stdout + done.stderr
    assert set(counts(world, project, gf.SUBJECT).values()) == {0}

"""Deletion plans for one data subject: planned from metadata, executed on a real dlt DuckDB dataset, with
dlt's staging copies of merge tables and the load packages a working folder keeps."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys

import dlt
import duckdb
import pytest

from glasspane.cli.forget import describe
from glasspane.governance.deletion.execute import (
    DELETED,
    FAILED,
    NOT_RUN,
    ROLLED_BACK,
    SKIPPED,
    execute,
    is_planned_subject,
    plan_for,
)
from glasspane.governance.deletion.model import (
    CLEARED,
    DELETE,
    DELETE_CHILDREN,
    NOT_SUPPORTED,
    REBUILD,
    DeletionTargets,
    MatchColumn,
    StagingDataset,
    TableMeta,
)
from glasspane.governance.deletion.plan import build_plan
from glasspane.governance.subjects import SubjectError
from glasspane.settings import PROJECT_DIR
from glasspane.store import Store
from tests import dlt_fixtures as fx
from tests import governance_fixtures as gf
from tests.conftest import collect_into, rows, source
from tests.test_lineage import sources

OTHERS = [f"u{i}@example.com" for i in range(gf.SUBJECTS) if f"u{i}@example.com" != gf.SUBJECT]


@pytest.fixture
def governed(tmp_path, store) -> gf.Warehouse:
    warehouse = gf.build(tmp_path)
    summary = collect_into(store, *sources(warehouse))
    assert summary.ok, [o.errors for o in summary.outcomes]
    return warehouse


def counts(warehouse: gf.Warehouse, subject: str) -> dict[str, int]:
    """Rows of one subject in every table, dlt's staging copies included, found through the data itself."""
    root = "(SELECT _dlt_id FROM crm.customers WHERE email = $s)"
    event = "(SELECT _dlt_id FROM crm.events WHERE user_email = $s)"
    staged = "(SELECT _dlt_id FROM crm_staging.customers WHERE email = $s)"
    queries = {
        "customers": "SELECT count(*) FROM crm.customers WHERE email = $s",
        "customers__addresses": f"SELECT count(*) FROM crm.customers__addresses WHERE _dlt_parent_id IN {root}",
        "customers__orders": f"SELECT count(*) FROM crm.customers__orders WHERE _dlt_parent_id IN {root}",
        "customers__orders__items": "SELECT count(*) FROM crm.customers__orders__items i JOIN crm.customers__orders o "
        f"ON i._dlt_parent_id = o._dlt_id WHERE o._dlt_parent_id IN {root}",
        "events": "SELECT count(*) FROM crm.events WHERE user_email = $s",
        "events__tags": f"SELECT count(*) FROM crm.events__tags WHERE _dlt_parent_id IN {event}",
        "events__tags__notes": "SELECT count(*) FROM crm.events__tags__notes n JOIN crm.events__tags t "
        f"ON n._dlt_parent_id = t._dlt_id WHERE t._dlt_parent_id IN {event}",
        "customer_keys": "SELECT count(*) FROM marts.customer_keys WHERE email = $s",
        "event_counts": "SELECT count(*) FROM marts.event_counts WHERE email_md5 = md5($s)",
        "v_customers": "SELECT count(*) FROM crm.v_customers WHERE email = $s",
        "staging customers": "SELECT count(*) FROM crm_staging.customers WHERE email = $s",
        "staging customers__addresses": "SELECT count(*) FROM crm_staging.customers__addresses "
        f"WHERE _dlt_parent_id IN {staged}",
        "staging customers__orders": "SELECT count(*) FROM crm_staging.customers__orders "
        f"WHERE _dlt_parent_id IN {staged}",
        "staging customers__orders__items": "SELECT count(*) FROM crm_staging.customers__orders__items i "
        f"JOIN crm_staging.customers__orders o ON i._dlt_parent_id = o._dlt_id WHERE o._dlt_parent_id IN {staged}",
    }
    with contextlib.closing(duckdb.connect(str(warehouse.path), read_only=True)) as con:
        return {name: con.execute(sql, {"s": subject}).fetchone()[0] for name, sql in queries.items()}


def orphans(warehouse: gf.Warehouse) -> int:
    """Nested rows whose parent row is gone."""
    pairs = [
        ("customers__addresses", "customers"),
        ("customers__orders", "customers"),
        ("customers__orders__items", "customers__orders"),
        ("events__tags", "events"),
        ("events__tags__notes", "events__tags"),
    ]
    sql = " + ".join(
        f"(SELECT count(*) FROM crm.{child} WHERE _dlt_parent_id NOT IN (SELECT _dlt_id FROM crm.{parent}))"
        for child, parent in pairs
    )
    return gf.count(warehouse.path, f"SELECT {sql}")


def test_the_plan_lists_every_table_nested_rows_first_views_and_models(governed, store):
    plan = plan_for(store, "email", gf.SUBJECT)
    listed = [(s.action, s.qualified_name) for s in plan.steps]
    assert listed == [
        (DELETE_CHILDREN, "crm.customers__orders__items"),  # deepest first
        (DELETE_CHILDREN, "crm.customers__addresses"),
        (DELETE_CHILDREN, "crm.customers__orders"),
        (DELETE, "crm.customers"),
        (DELETE_CHILDREN, "crm_staging.customers__orders__items"),  # dlt's staging copies of the merge table
        (DELETE_CHILDREN, "crm_staging.customers__addresses"),
        (DELETE_CHILDREN, "crm_staging.customers__orders"),
        (DELETE, "crm_staging.customers"),
        (DELETE_CHILDREN, "crm.events__tags__notes"),
        (DELETE_CHILDREN, "crm.events__tags"),
        (DELETE, "crm.events"),
        (DELETE, "marts.customer_keys"),
        (REBUILD, "marts.email_domains"),  # split_part(email): no value to match one subject by
        (DELETE, "marts.event_counts"),
        (CLEARED, "crm.v_addresses"),
        (CLEARED, "crm.v_corp_events"),
        (CLEARED, "crm.v_customers"),
        (CLEARED, "crm.v_customers_all"),
    ]
    by_table = {s.qualified_name: s for s in plan.steps}
    # merge tables carry _dlt_root_id; append tables only the parent chain
    assert by_table["crm.customers__orders__items"].masked == (
        'DELETE FROM "crm"."customers__orders__items" WHERE "_dlt_root_id" IN '
        '(SELECT "_dlt_id" FROM "crm"."customers" WHERE "email" = $subject)'
    )
    staged = by_table["crm_staging.customers__orders__items"]
    assert staged.masked == (
        'DELETE FROM "crm_staging"."customers__orders__items" WHERE "_dlt_root_id" IN '
        '(SELECT "_dlt_id" FROM "crm_staging"."customers" WHERE "email" = $subject)'
    )
    assert staged.skip_if_absent and staged.estimated_rows is None
    assert staged.estimate_note == "the last merge load's rows, if any; present at the last collect"
    assert by_table["crm_staging.customers"].reason.startswith(
        "email hinted as email PII in the dlt schema; in dlt's staging copy of crm.customers"
    )
    assert not by_table["crm.customers"].skip_if_absent
    assert by_table["crm.events__tags__notes"].masked == (
        'DELETE FROM "crm"."events__tags__notes" WHERE "_dlt_parent_id" IN (SELECT "_dlt_id" FROM "crm"."events__tags" '
        'WHERE "_dlt_parent_id" IN (SELECT "_dlt_id" FROM "crm"."events" WHERE "user_email" = $subject))'
    )
    # a hashed model column is matched through the same hash
    assert by_table["marts.event_counts"].statement == (
        f'DELETE FROM "marts"."event_counts" WHERE "email_md5" = MD5(\'{gf.SUBJECT}\')'
    )
    assert all(gf.SUBJECT not in (s.masked or "") and gf.SUBJECT not in s.reason for s in plan.steps)
    # estimates from loaded row counts: 2 orders and 4 items per customer, 2 notes per event
    assert (
        by_table["crm.customers__orders"].estimated_rows,
        by_table["crm.customers__orders__items"].estimated_rows,
        by_table["crm.events__tags__notes"].estimated_rows,
    ) == (2.0, 4.0, 2.0)
    assert by_table["crm.customers"].estimate_note == "at least 1: email is not unique here"


def test_executing_removes_every_row_of_the_subject_with_child_rows_and_nothing_else(governed, store):
    before = {subject: counts(governed, subject) for subject in OTHERS}
    assert counts(governed, gf.SUBJECT) == {
        "customers": 1,
        "customers__addresses": 1,
        "customers__orders": 2,
        "customers__orders__items": 4,
        "events": 2,
        "events__tags": 2,
        "events__tags__notes": 4,
        "customer_keys": 1,
        "event_counts": 1,
        "v_customers": 1,
        "staging customers": 1,
        "staging customers__addresses": 1,
        "staging customers__orders": 2,
        "staging customers__orders__items": 4,
    }
    plan = plan_for(store, "email", gf.SUBJECT)
    report = execute(plan, gf.SUBJECT, store, "dpo@test")
    assert report.complete, report.lines()
    assert report.rows_deleted == 26

    assert set(counts(governed, gf.SUBJECT).values()) == {0}
    assert {subject: counts(governed, subject) for subject in OTHERS} == before
    assert orphans(governed) == 0

    audit = rows(
        store,
        "SELECT step, executed_by, column_kind, table_name, status, rows_deleted, subject_hash "
        "FROM deletion_audit ORDER BY step",
    )
    assert [(a[3], a[4], a[5]) for a in audit] == [
        ("customers__orders__items", DELETED, 4),
        ("customers__addresses", DELETED, 1),
        ("customers__orders", DELETED, 2),
        ("customers", DELETED, 1),
        ("customers__orders__items", DELETED, 4),
        ("customers__addresses", DELETED, 1),
        ("customers__orders", DELETED, 2),
        ("customers", DELETED, 1),
        ("events__tags__notes", DELETED, 4),
        ("events__tags", DELETED, 2),
        ("events", DELETED, 2),
        ("customer_keys", DELETED, 1),
        ("event_counts", DELETED, 1),
    ]
    assert {(a[1], a[2], a[6]) for a in audit} == {("dpo@test", "email", plan.subject_hash)}
    assert_value_not_stored(store, gf.SUBJECT)

    again = plan_for(store, "email", gf.SUBJECT)  # the same subject hashes the same: its history is found
    assert again.subject_hash == plan.subject_hash
    assert execute(again, gf.SUBJECT, store, "dpo@test").rows_deleted == 0


def test_only_the_planned_subject_typed_twice_passes_the_check_before_executing(governed, store):
    plan = plan_for(store, "email", gf.SUBJECT)
    assert is_planned_subject(plan, store, f"  {gf.SUBJECT} ", gf.SUBJECT)
    assert not is_planned_subject(plan, store, gf.SUBJECT, OTHERS[0])  # the retyped value is someone else
    assert not is_planned_subject(plan, store, gf.SUBJECT, "not an e-mail")
    assert not is_planned_subject(plan, store, gf.SUBJECT, None)
    assert not is_planned_subject(plan, store)


def assert_value_not_stored(store: Store, value: str) -> None:
    """No text cell of any table or view of the store contains the value."""
    with store.reader() as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON') OR data_type LIKE 'VARCHAR[]%'"
        ).fetchall()
        for schema, table, column in columns:
            hits = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains(lower(CAST("{column}" AS VARCHAR)), ?)',
                [value.lower()],
            ).fetchone()[0]
            assert hits == 0, f"{schema}.{table}.{column} holds the subject's value"


STAGED = ("customers__orders__items", "customers__addresses", "customers__orders", "customers")


def test_a_staging_dataset_dlt_dropped_since_is_still_planned_from_the_schema_and_skipped_as_not_present(
    governed, store
):
    with contextlib.closing(duckdb.connect(str(governed.path))) as con:
        con.execute("DROP SCHEMA crm_staging CASCADE")
    assert collect_into(store, *sources(governed)).ok  # the collector now lists no staging table
    plan = plan_for(store, "email", gf.SUBJECT)
    staged = [s for s in plan.statements if s.skip_if_absent]
    assert [s.qualified_name for s in staged] == [f"crm_staging.{t}" for t in STAGED]  # customers is a merge table
    assert {s.estimate_note for s in staged} == {
        "the last merge load's rows, if any; not present at the last collect: skipped if still absent"
    }
    report = execute(plan, gf.SUBJECT, store, "dpo@test")
    assert report.complete, report.lines()
    assert {o.step.qualified_name: o.error for o in report.outcomes if o.status == SKIPPED} == {
        f"crm_staging.{t}": "not present" for t in STAGED
    }
    assert f"skipped     duckdb://{governed.path} crm_staging.customers: not present" in report.lines()
    assert report.rows_deleted == 18
    assert gf.count(governed.path, "SELECT count(*) FROM crm.customers WHERE email = ?", [gf.SUBJECT]) == 0
    assert rows(store, "SELECT count(*) FROM deletion_audit WHERE status = 'skipped'") == [(4,)]


def test_merge_tables_get_statements_on_their_staging_dataset_in_the_destinations_dialect():
    location = "bigquery://analytics-prod"
    child = frozenset({"street", "_dlt_parent_id", "_dlt_root_id", "_dlt_id"})
    tables = {
        "users": TableMeta("users", None, frozenset({"email", "_dlt_id"}), 10, "merge"),
        "users__addresses": TableMeta("users__addresses", "users", child, 10),
        "leads": TableMeta("leads", None, frozenset({"email"}), 5, "replace"),  # staged only where it is seen
        "events": TableMeta("events", None, frozenset({"email"}), 5, "append"),
    }
    matches = [MatchColumn(location, "crm", t, "email", "text") for t in ("events", "leads", "users")]
    targets = DeletionTargets("email", matches=matches, tables={(location, "crm"): tables})
    staged = [s for s in build_plan(targets, "a@b.co", "hash").statements if s.skip_if_absent]
    assert [s.masked for s in staged] == [  # dlt's default layout: <dataset>_staging
        "DELETE FROM `analytics-prod`.`crm_staging`.`users__addresses` WHERE `_dlt_root_id` IN "
        "(SELECT `_dlt_id` FROM `analytics-prod`.`crm_staging`.`users` WHERE `email` = @subject)",
        "DELETE FROM `analytics-prod`.`crm_staging`.`users` WHERE `email` = @subject",
    ]
    assert {s.estimate_note for s in staged} == {"the last merge load's rows, if any; skipped where it does not exist"}

    # a collector's listing (here with a custom staging_dataset_name_layout) names the dataset and adds what it saw
    targets.staging[(location, "crm")] = StagingDataset("stage_crm", frozenset({"leads", "users"}))
    staged = [s for s in build_plan(targets, "a@b.co", "hash").statements if s.skip_if_absent]
    assert [(s.qualified_name, s.estimate_note.split("; ")[1]) for s in staged] == [
        ("stage_crm.leads", "present at the last collect"),
        ("stage_crm.users__addresses", "not present at the last collect: skipped if still absent"),
        ("stage_crm.users", "present at the last collect"),
    ]


@pytest.fixture
def with_working_folder(tmp_path, store) -> gf.Warehouse:
    """A warehouse from its own pipeline run, plus a pending package (extracted and normalized, not loaded),
    collected with the pipeline's working folder."""
    warehouse = gf.build_fresh(tmp_path / "own")
    pipeline = fx.pipeline("crm", warehouse.pipelines, dlt.destinations.duckdb(str(warehouse.path)), "crm")
    pipeline.extract(gf.customers())
    pipeline.normalize()
    working_folders = source("laptop", "pipelines_dir", path=str(warehouse.pipelines))
    assert collect_into(store, *sources(warehouse), working_folders).ok
    return warehouse


def test_the_plan_lists_the_load_packages_the_working_folder_keeps_and_executing_leaves_them(
    with_working_folder, store
):
    warehouse, load = with_working_folder, with_working_folder.pipelines / "crm" / "load"
    data_load = next(p for p in (load / "loaded").iterdir() if any((p / "completed_jobs").glob("customers.*")))
    [pending] = (load / "normalized").iterdir()
    customers = ("customers", "customers__addresses", "customers__orders", "customers__orders__items")
    plan = plan_for(store, "email", gf.SUBJECT)
    assert [(p.state, p.path, p.tables) for p in plan.packages] == [  # not the package that loaded the trace
        ("loaded", str(data_load), (*customers, "events", "events__tags", "events__tags__notes")),
        ("normalized", str(pending), customers),
    ]
    loaded, waiting = plan.packages
    assert (loaded.location, loaded.machine) == (
        f"duckdb://{warehouse.path}",
        f"local://{socket.gethostname()}{warehouse.pipelines}",
    )
    assert f"find {load / 'loaded'} -path '*_jobs/*' -type f -delete" in loaded.advice
    assert "delete_completed_jobs = true under [load]" in loaded.advice and "dlt pipeline crm sync" in loaded.advice
    assert waiting.advice.startswith("normalized, not loaded yet: the pipeline's next run loads these rows")
    assert "dlt pipeline crm abort-packages" in waiting.advice

    exported = json.loads(plan.to_json())["kept_packages"]
    assert [(p["path"], p["state"], p["what_to_do"]) for p in exported] == [
        (p.path, p.state, p.advice) for p in plan.packages
    ]
    assert f"--   {pending} ({', '.join(customers)})" in plan.to_sql()
    terminal = describe(plan)
    assert f"  crm: 1 loaded package(s) in {load / 'loaded'} ({loaded.machine}), load ids {data_load.name}" in terminal
    assert f"      {waiting.advice}" in terminal

    report = execute(plan, gf.SUBJECT, store, "dpo@test")
    assert report.complete, report.lines()
    assert report.lines()[-2].startswith("not deleted from here: 2 kept load packages in pipeline working folders")
    assert any((data_load / "completed_jobs").glob("customers.*")) and any((pending / "new_jobs").iterdir())


def test_a_failing_statement_rolls_back_its_destination_and_says_so(governed, store):
    plan = plan_for(store, "email", gf.SUBJECT)
    with contextlib.closing(duckdb.connect(str(governed.path))) as con:  # the model changed since the plan
        con.execute("ALTER TABLE marts.event_counts DROP COLUMN email_md5")
    report = execute(plan, gf.SUBJECT, store, "dpo@test")
    assert not report.complete
    statuses = {o.step.qualified_name: (o.status, o.error) for o in report.outcomes}
    assert statuses["crm.customers"][0] == ROLLED_BACK
    status, error = statuses["marts.event_counts"]
    assert status == FAILED and "email_md5" in error and gf.SUBJECT not in error
    assert report.lines()[-1].startswith("NOT COMPLETE: 0 statements ran (0 rows deleted)")
    subject_rows = "SELECT count(*) FROM crm.customers WHERE email = ?"
    assert gf.count(governed.path, subject_rows, [gf.SUBJECT]) == 1  # nothing was deleted
    assert rows(store, "SELECT DISTINCT status FROM deletion_audit ORDER BY 1") == [(FAILED,), (ROLLED_BACK,)]


def test_an_unreachable_destination_stops_everything_before_anything_runs(governed, store, monkeypatch):
    monkeypatch.setenv("GLASSPANE__SUBJECT_SALT", "test-salt")  # the salt `forget` below uses
    plan = plan_for(store, "email", gf.SUBJECT)
    governed.path.rename(governed.path.with_suffix(".moved"))
    report = execute(plan, gf.SUBJECT, store, "dpo@test")
    assert not report.complete
    assert {o.status for o in report.outcomes} == {NOT_RUN}
    assert report.outcomes[0].error == f"nothing was executed: duckdb://{governed.path}: DuckDB file not found"
    assert rows(store, "SELECT count(*), min(status) FROM deletion_audit") == [(len(plan.statements), NOT_RUN)]
    again = forget("--column-kind", "email", "--value", gf.SUBJECT, "--store", str(store.path))
    assert "executed before" not in again.stdout  # a DPO would read that as "already deleted"
    [line] = [line for line in again.stdout.splitlines() if line.startswith("attempted before on ")]
    assert line.endswith(
        f"by dpo@test, not completed: {len(plan.statements)} statements failed, not run or rolled back"
    )


def test_unknown_kinds_and_values_of_the_wrong_format_are_refused_without_echoing_the_value(governed, store):
    with pytest.raises(SubjectError) as unknown:
        plan_for(store, "emial", gf.SUBJECT)
    assert str(unknown.value) == (
        "unknown PII kind 'emial': no column in the store is tagged with it (tagged kinds: address, email); "
        "did you mean 'email'?"
    )
    with pytest.raises(SubjectError) as malformed:
        plan_for(store, "email", "not-an-address")
    assert str(malformed.value) == (
        "the value does not look like an e-mail address (name@domain.tld), as PII kind 'email' requires"
    )
    assert "not-an-address" not in str(malformed.value)


LOCATIONS = {"bigquery://analytics-prod": "bigquery", "postgresql://db.internal:5432/warehouse": "postgres"}


@pytest.mark.parametrize("location", list(LOCATIONS))
def test_statements_are_written_in_each_destinations_dialect(location):
    child_columns = frozenset({"street", "_dlt_parent_id", "_dlt_id"})
    tables = {
        "users": TableMeta("users", None, frozenset({"id", "email", "_dlt_id"}), 10),
        "users__addresses": TableMeta("users__addresses", "users", child_columns, 15),
    }
    targets = DeletionTargets(
        "email", matches=[MatchColumn(location, "crm", "users", "email", "text")], tables={(location, "crm"): tables}
    )
    plan = build_plan(targets, "o'brien@example.com", "hash")
    children, parent = plan.statements
    if LOCATIONS[location] == "bigquery":
        assert children.statement == (
            "DELETE FROM `analytics-prod`.`crm`.`users__addresses` WHERE `_dlt_parent_id` IN "
            "(SELECT `_dlt_id` FROM `analytics-prod`.`crm`.`users` WHERE `email` = 'o\\'brien@example.com')"
        )
        assert parent.masked == "DELETE FROM `analytics-prod`.`crm`.`users` WHERE `email` = @subject"
        assert "BEGIN TRANSACTION;" in plan.to_sql()
        assert parent.executable == parent.masked  # executed with @subject as a query parameter
    else:
        assert children.statement == (
            'DELETE FROM "crm"."users__addresses" WHERE "_dlt_parent_id" IN '
            '(SELECT "_dlt_id" FROM "crm"."users" WHERE "email" = \'o\'\'brien@example.com\')'
        )
        assert "BEGIN;" in plan.to_sql()
        assert parent.executable == 'DELETE FROM "crm"."users" WHERE "email" = %(subject)s'  # psycopg's parameter
    assert "brien" not in (children.executable or "") + (parent.executable or "")
    assert children.estimated_rows == 1.5


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("s3://lake/exports", "this destination keeps its data in files"),
        ("local://host/pipelines/crm", "only the pipeline's working folder was collected"),
        ("dremio://lake", "Glasspane does not write SQL for dremio destinations"),
    ],
)
def test_destinations_without_sql_are_listed_as_not_deletable_here_with_why(location, reason):
    targets = DeletionTargets("email", matches=[MatchColumn(location, "events", "page_views", "email")])
    [step] = build_plan(targets, "a@b.co", "hash").steps
    assert step.action == NOT_SUPPORTED and step.statement is None
    assert step.reason.startswith(f"email: {reason}")


def forget(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collectors", "forget", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, "GLASSPANE__SUBJECT_SALT": "test-salt"},
        timeout=120,
    )


def test_forget_cli_dry_run_exports_and_executes(governed, store, tmp_path):
    sql_file, json_file = tmp_path / "plan.sql", tmp_path / "plan.json"
    dry = forget(
        "--column-kind",
        "email",
        "--value",
        "-",
        "--store",
        str(store.path),
        "--sql",
        str(sql_file),
        "--json",
        str(json_file),
        stdin=gf.SUBJECT + "\n",
    )
    assert dry.returncode == 0, dry.stderr
    assert gf.SUBJECT not in dry.stdout
    assert 'DELETE FROM "crm"."customers" WHERE "email" = $subject;' in dry.stdout
    assert "dry run: nothing was deleted" in dry.stdout
    assert "the value was checked to be an e-mail address (name@domain.tld)" in dry.stdout
    assert "marts.email_domains" in dry.stdout and "crm.v_customers" in dry.stdout
    assert counts(governed, gf.SUBJECT)["customers"] == 1
    exported = json.loads(json_file.read_text())
    assert exported["column_kind"] == "email" and len(exported["steps"]) == 18
    assert exported["kept_packages"] == []  # no working folder collected here
    assert f'DELETE FROM "crm"."customers" WHERE "email" = \'{gf.SUBJECT}\';' in sql_file.read_text()

    bad = forget("--column-kind", "email", "--value", "nobody", "--store", str(store.path))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == (
        "error: the value does not look like an e-mail address (name@domain.tld), as PII kind 'email' requires"
    )

    done = forget(
        "--column-kind", "email", "--value", gf.SUBJECT, "--store", str(store.path), "--execute", "--by", "dpo@test"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done: 26 rows deleted by 13 statements" in done.stdout
    assert gf.SUBJECT not in done.stdout
    assert set(counts(governed, gf.SUBJECT).values()) == {0}
    assert exported["subject_hash"] == rows(store, "SELECT DISTINCT subject_hash FROM deletion_audit")[0][0]

    again = forget("--column-kind", "email", "--value", gf.SUBJECT, "--store", str(store.path))
    assert "executed before for this subject on " in again.stdout
    assert "by dpo@test: 26 rows deleted" in again.stdout and "attempted" not in again.stdout


def test_without_a_configured_salt_one_is_generated_beside_the_store_and_kept(governed, store, monkeypatch):
    monkeypatch.delenv("GLASSPANE__SUBJECT_SALT", raising=False)
    first = plan_for(store, "email", gf.SUBJECT)
    salt_file = store.path.with_name(store.path.name + ".salt")
    assert salt_file.exists() and oct(salt_file.stat().st_mode & 0o777) == "0o600"
    assert plan_for(store, "email", f" {gf.SUBJECT} ").subject_hash == first.subject_hash
    monkeypatch.setenv("GLASSPANE__SUBJECT_SALT", "team-salt")
    assert plan_for(store, "email", gf.SUBJECT).subject_hash != first.subject_hash


def test_a_store_without_this_kind_plans_nothing(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    import dlt

    from tests import dlt_fixtures as fx

    p = fx.pipeline("crm", tmp_path / "p", dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    assert collect_into(store, source("wh", "duckdb", path=str(tmp_path / "w.duckdb"))).ok
    plan = plan_for(store, "address", "1 Main Street")
    assert [(s.action, s.qualified_name) for s in plan.steps] == [(DELETE, "crm.users__addresses")]
    assert "no format check applies to PII kind 'address' (it has no single format)" in describe(plan)[1]

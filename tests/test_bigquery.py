"""BigQuery projects through a real BigQuery REST API (bqemulator), loaded by dlt's own BigQuery
destination; every API call and query counted by a recording proxy in front of the emulator."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import dlt
import pytest

from glasspane.settings import environment
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source
from tests.servers import BigQueryEmulator, Recorded, RecordingProxy, TokenServer, free_port
from tests.store_scan import find_in_store

LOADER = "loader@proj-a.iam.gserviceaccount.com"
COLLECTOR = "glasspane@proj-a.iam.gserviceaccount.com"
REVOKED = "revoked@proj-a.iam.gserviceaccount.com"
# what BigQuery answers where the emulator cannot: no access, no such project, quota exhausted
FAULTS = {
    "proj-denied": (403, "accessDenied", "Access Denied: Project proj-denied: User does not have permission"),
    "proj-missing": (404, "notFound", "Not found: Project proj-missing"),
    "proj-quota": (429, "rateLimitExceeded", "Quota exceeded: Your project exceeded quota for api requests"),
}


@cache
def private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def service_account(email: str, token_uri: str) -> str:
    """A service account key file's JSON, as dlt takes it for `credentials`."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "proj-a",
            "private_key_id": "k1",
            "private_key": private_key(),
            "client_email": email,
            "client_id": "1",
            "token_uri": token_uri,
        }
    )


def fault(request: Recorded) -> tuple[int, dict] | None:
    for project, (status, reason, message) in FAULTS.items():
        if f"/projects/{project}/" in request.path:
            return status, {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}}
    return None


class BigQueryWorld:
    """The emulator, the token endpoint, and the proxy the collector talks to."""

    def __init__(self, log: Path) -> None:
        self.emulator = BigQueryEmulator("proj-a", log=log)
        self.tokens = TokenServer()
        self.tokens.rejected.add(REVOKED)
        self.proxy = RecordingProxy(self.emulator.endpoint, fault=fault)

    @contextlib.contextmanager
    def loading(self) -> Iterator[None]:
        """dlt's BigQuery destination pointed at the emulator (the client honours BIGQUERY_EMULATOR_HOST)."""
        with environment(
            BIGQUERY_EMULATOR_HOST=self.emulator.endpoint,
            NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION="true",  # the emulator reads plain jsonl
        ):
            yield

    def pipeline(self, name: str, pipelines_dir: Path, project: str, dataset: str) -> dlt.Pipeline:
        credentials = service_account(LOADER, self.tokens.url)
        destination = dlt.destinations.bigquery(credentials=credentials, project_id=project, location="US")
        return fx.pipeline(name, pipelines_dir, destination, dataset)

    def client(self, project: str):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        options = ClientOptions(api_endpoint=self.emulator.endpoint)
        return bigquery.Client(project=project, credentials=AnonymousCredentials(), client_options=options)

    def stop(self) -> None:
        self.proxy.stop()
        self.tokens.stop()
        self.emulator.stop()


def campaigns(n: int) -> Any:
    """A `campaigns` resource: no nested table, no PII."""

    @dlt.resource(name="campaigns", primary_key="id")
    def _campaigns() -> Iterator[dict[str, Any]]:
        yield from ({"id": i, "channel": "search", "budget": 100.0 * i} for i in range(n))

    return _campaigns


@pytest.fixture(scope="module")
def bq(tmp_path_factory) -> Iterator[BigQueryWorld]:
    """Two projects loaded by real dlt pipelines: proj-a (crm with traces, billing without) and proj-b
    (events and marketing with traces, support without), each with a dataset dlt did not write."""
    folder = tmp_path_factory.mktemp("bigquery")
    world = BigQueryWorld(folder / "emulator.log")
    pipelines = folder / "pipelines"
    with world.loading():
        crm = world.pipeline("crm", pipelines, "proj-a", "crm")
        fx.run(crm, fx.users(3))
        fx.run(crm, fx.users(2, start=10, extra_column=True))  # the schema evolves
        fx.run_failing(crm, "upstream API answered 500", load_trace=True)
        fx.run(world.pipeline("billing", pipelines, "proj-a", "billing"), fx.users(4), load_trace=False)
        fx.run(world.pipeline("events", pipelines, "proj-b", "events"), fx.users(5))
        fx.run(world.pipeline("campaigns", pipelines, "proj-b", "marketing"), campaigns(3))
        fx.run(world.pipeline("support", pipelines, "proj-b", "support"), fx.users(2), load_trace=False)
    for project, dataset in (("proj-a", "scratch"), ("proj-b", "staging")):  # not dlt datasets
        world.client(project).create_dataset(f"{project}.{dataset}")
        world.client(project).query(f"CREATE TABLE `{project}.{dataset}.notes` (id INT64)").result()
    scratch = world.client("proj-a")
    # a view over a PII column: its SQL is collected and the PII it copies is inherited
    scratch.query("CREATE VIEW `proj-a.crm.contacts` AS SELECT id, email AS contact FROM `proj-a.crm.users`").result()
    yield world
    world.stop()


@contextlib.contextmanager
def credentials(name: str, email: str, token_uri: str) -> Iterator[None]:
    """dlt's config convention for a source's credentials: a service account JSON in SOURCES__<NAME>__CREDENTIALS."""
    with environment(**{f"SOURCES__{name.upper()}__CREDENTIALS": service_account(email, token_uri)}):
        yield


def warehouse(bq: BigQueryWorld, name: str = "bq", **options):
    return source(name, "bigquery", api_endpoint=bq.proxy.endpoint, **options)


def is_query(request: Recorded) -> bool:
    """A job (query or dry run) inserted."""
    return request.method == "POST" and request.path.endswith("/jobs")


def test_bigquery_projects_give_every_dlt_dataset_with_runs_counts_pii_and_sizes(bq, store):
    bq.proxy.clear()
    with credentials("bq", COLLECTOR, bq.tokens.url):
        summary = collect_into(store, warehouse(bq, projects=["proj-a", "proj-b"]))
    assert summary.ok, summary.outcomes[0].errors
    assert summary.outcomes[0].datasets == 5
    assert rows(store, "SELECT location, dataset_name FROM datasets ORDER BY 1, 2") == [
        ("bigquery://proj-a", "billing"),
        ("bigquery://proj-a", "crm"),
        ("bigquery://proj-b", "events"),
        ("bigquery://proj-b", "marketing"),
        ("bigquery://proj-b", "support"),
    ]  # every dlt dataset of both projects; not `scratch` or `staging`
    assert rows(
        store, "SELECT location, dataset_name, pipeline_name, status, row_count FROM runs ORDER BY 1, 2, started_at"
    ) == [
        ("bigquery://proj-a", "billing", "billing", "completed", None),  # no trace: no row count, no scan
        ("bigquery://proj-a", "crm", "crm", "completed", 6),  # from the _trace tables
        ("bigquery://proj-a", "crm", "crm", "completed", 4),
        ("bigquery://proj-a", "crm", "crm", "failed", None),
        ("bigquery://proj-b", "events", "events", "completed", 10),
        ("bigquery://proj-b", "marketing", "campaigns", "completed", 3),
        ("bigquery://proj-b", "support", "support", "completed", None),
    ]
    [(error,)] = rows(store, "SELECT error FROM runs WHERE status = 'failed'")
    assert error.startswith("RuntimeError: upstream API answered 500")
    assert_pii_and_sizes(store)
    assert_only_dlt_tables_were_queried_with_the_configured_credentials(bq, store, summary.outcomes[0].stats)


def assert_pii_and_sizes(store) -> None:
    """PII hints of every dataset, the PII a view inherits, and sizes from free table metadata."""
    assert rows(
        store, "SELECT dataset_name, table_name, column_name, pii_kind FROM columns WHERE pii ORDER BY 1, 2, 3"
    ) == [
        (dataset, table, column, kind)
        for dataset in ("billing", "crm", "events", "support")
        for table, column, kind in (
            ("users", "email", "email"),
            ("users", "phone", None),
            ("users__addresses", "street", "address"),
        )
    ]
    assert rows(store, "SELECT count(*) FROM columns WHERE column_name = 'nickname'") == [(1,)]  # evolved
    assert rows(store, "SELECT dataset_name, table_name, column_name, pii_kind, relation FROM inherited_pii") == [
        ("crm", "contacts", "contact", "email", "direct")
    ]
    # sizes from free table metadata, one row per data table
    assert rows(store, "SELECT location, dataset_name, table_name, num_rows FROM table_sizes ORDER BY 1, 2, 3") == [
        ("bigquery://proj-a", "billing", "users", 4),
        ("bigquery://proj-a", "billing", "users__addresses", 4),
        ("bigquery://proj-a", "crm", "users", 5),
        ("bigquery://proj-a", "crm", "users__addresses", 5),
        ("bigquery://proj-b", "events", "users", 5),
        ("bigquery://proj-b", "events", "users__addresses", 5),
        ("bigquery://proj-b", "marketing", "campaigns", 3),
        ("bigquery://proj-b", "support", "users", 2),
        ("bigquery://proj-b", "support", "users__addresses", 2),
    ]


def assert_only_dlt_tables_were_queried_with_the_configured_credentials(bq, store, stats: dict) -> None:
    # credentials came from dlt's config: the token endpoint issued a token to the collector's
    # service account, and every call to BigQuery carried it
    assert COLLECTOR in bq.tokens.issued
    assert all(r.headers.get("authorization", "").startswith("Bearer token-") for r in bq.proxy.requests)
    # data tables are never queried, only dlt's own tables
    jobs = [json.loads(r.body) for r in bq.proxy.requests if is_query(r)]
    data_tables = ("users", "campaigns", "notes")
    assert jobs and not [j for j in jobs if any(t in j["configuration"]["query"]["query"] for t in data_tables)]
    assert stats["queries"] + stats["dry_runs"] == len(jobs)
    assert "bytes_billed" in stats and stats["api_calls"] > 0
    [(queries, billed)] = rows(store, "SELECT queries, bytes_billed FROM collect_costs")
    assert queries == stats["queries"] and billed == stats["bytes_billed"]


def test_bigquery_recollect_without_new_loads_runs_no_query_and_then_reads_only_new_rows(bq, tmp_path, store):
    with bq.loading():
        crm = bq.pipeline("crm", tmp_path / "pipelines", "proj-c", "inc")
        fx.run(crm, fx.users(3))
    inc = warehouse(bq, project="proj-c")
    with credentials("bq", COLLECTOR, bq.tokens.url):
        assert collect_into(store, inc).new_runs == 1
        snapshot = rows(store, "SELECT * FROM runs ORDER BY run_key")
        first_history = rows(store, "SELECT count(*) FROM schema_versions WHERE schema_name = 'crm'")
        [(first_seen,)] = rows(store, "SELECT first_seen_at FROM table_sizes WHERE table_name = 'users'")

        bq.proxy.clear()
        again = collect_into(store, inc)
        assert again.ok and again.new_runs == 0
        # the emulator's table metadata does not count DML inserts, so the collector asks
        # _dlt_loads for rows newer than the last one it read: one query, nothing else
        [job] = [json.loads(r.body)["configuration"]["query"] for r in bq.proxy.requests if is_query(r)]
        assert "_dlt_loads" in job["query"] and "inserted_at > @since" in job["query"]
        [since] = [p["parameterValue"]["value"] for p in job["queryParameters"] if p["name"] == "since"]
        assert not since.startswith("1970")
        assert again.outcomes[0].stats["queries"] == 1
        assert again.outcomes[0].stats["bytes_billed"] == 0  # sizes are metadata, not queries
        assert rows(store, "SELECT * FROM runs ORDER BY run_key") == snapshot
        # ... and the table sizes are snapshotted on every collect, new loads or not
        sized = [r.path for r in bq.proxy.requests if r.method == "GET" and r.path.endswith("/tables/users")]
        assert len(sized) == 1 and rows(store, "SELECT count(*) FROM collect_costs") == [(2,)]
        assert rows(
            store, "SELECT num_rows, count(*) FROM table_size_snapshots WHERE table_name = 'users' GROUP BY 1"
        ) == [(3, 2)]

        with bq.loading():
            fx.run(crm, fx.users(4, start=10))
        bq.proxy.clear()
        third = collect_into(store, inc)
    assert third.ok and third.new_runs == 1
    listed = [r.path for r in bq.proxy.requests if r.method == "GET" and r.path.endswith("datasets/inc/tables")]
    assert len(listed) == 1  # new loads read, sizes snapshotted: the dataset's tables listed once
    assert rows(store, "SELECT row_count FROM runs ORDER BY started_at") == [(6,), (8,)]
    jobs = [json.loads(r.body)["configuration"]["query"]["query"] for r in bq.proxy.requests if is_query(r)]
    assert not [q for q in jobs if "users" in q]
    # the new loads' schema versions were read by the first collect: no query of _dlt_version this time
    assert not [q for q in jobs if "_dlt_version" in q]
    assert rows(store, "SELECT count(*) FROM schema_versions WHERE schema_name = 'crm'") == first_history
    # a size that changed is a new row; the first one stays as history
    assert rows(
        store, "SELECT num_rows, first_seen_at = ? FROM table_sizes WHERE table_name = 'users' ORDER BY 1", [first_seen]
    ) == [(3, True), (7, False)]
    assert rows(
        store, "SELECT num_rows FROM table_size_snapshots WHERE table_name = 'users' ORDER BY collected_at"
    ) == [(3,), (3,), (7,)]


def test_a_dataset_is_asked_for_its_view_sql_only_while_its_table_listing_shows_a_view(bq, tmp_path, store):
    """INFORMATION_SCHEMA.VIEWS is a query job (billed at least 10 MB) per dataset with new loads: most dlt
    datasets hold no view, and the free table listing, read for the sizes anyway, says so."""
    with bq.loading():
        shop = bq.pipeline("shop", tmp_path / "pipelines", "proj-g", "shop")
        fx.run(shop, fx.users(2))
    source = warehouse(bq, project="proj-g")

    def collect_new_load(start: int) -> list[str]:
        """Collect after one more load; the view SQL queries it ran."""
        if start:
            with bq.loading():
                fx.run(shop, fx.users(2, start=start))
        bq.proxy.clear()
        with credentials("bq", COLLECTOR, bq.tokens.url):
            summary = collect_into(store, source)
        assert summary.ok and summary.new_runs == 1, summary.outcomes[0].errors
        jobs = [json.loads(r.body)["configuration"]["query"]["query"] for r in bq.proxy.requests if is_query(r)]
        return [q for q in jobs if "INFORMATION_SCHEMA.VIEWS" in q]

    def stored_views() -> list[tuple]:
        return rows(store, "SELECT name, sql FROM definitions WHERE dataset_name = 'shop'")

    assert collect_new_load(0) == [] and stored_views() == []
    view_sql = "SELECT id FROM `proj-g.shop.users`"
    bq.client("proj-g").query(f"CREATE VIEW `proj-g.shop.v_ids` AS {view_sql}").result()
    assert len(collect_new_load(10)) == 1
    assert stored_views() == [("v_ids", view_sql)]
    bq.client("proj-g").query("DROP VIEW `proj-g.shop.v_ids`").result()
    assert collect_new_load(20) == []
    assert stored_views() == []  # the listing shows no view: the stored one goes


def copy_dlt_tables(
    bq: BigQueryWorld,
    source: str,
    target: str,
    names: tuple[str, ...] = ("_dlt_loads", "_dlt_version", "_dlt_pipeline_state"),
) -> None:
    """Copy dlt's tables of a dataset, with their real rows, through the streaming API (which the
    emulator's table metadata counts, as BigQuery's counts every insert)."""
    client = bq.client(target.split(".")[0])
    client.create_dataset(target)
    for name in names:
        original = client.get_table(f"{source}.{name}")
        client.create_table(bigquery_table(f"{target}.{name}", original.schema))
        found = [dict(r.items()) for r in client.query(f"SELECT * FROM `{source}.{name}`").result()]
        errors = client.insert_rows_json(f"{target}.{name}", [_jsonable(r) for r in found])
        assert not errors, errors


def bigquery_table(name: str, schema):
    from google.cloud import bigquery

    return bigquery.Table(name, schema=schema)


def _jsonable(row: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


def test_a_dataset_whose_dlt_loads_metadata_did_not_change_costs_no_query(bq, store):
    copy_dlt_tables(bq, "proj-a.crm", "proj-e.copied")
    copied = warehouse(bq, project="proj-e")
    with credentials("bq", COLLECTOR, bq.tokens.url):
        first = collect_into(store, copied)
        assert first.ok and first.new_runs == 5  # every completed load of crm (its trace uploads too)
        bq.proxy.clear()
        again = collect_into(store, copied)
    assert again.ok and again.new_runs == 0
    # free calls only: the project's datasets, tables.get of _dlt_loads (rows and modified time),
    # and tables.list for the size snapshot (this copy holds no data table to get)
    assert [(r.method, r.path.split("/projects/")[1]) for r in bq.proxy.requests] == [
        ("GET", "proj-e/datasets"),
        ("GET", "proj-e/datasets/copied/tables/_dlt_loads"),
        ("GET", "proj-e/datasets/copied/tables"),
    ]
    assert again.outcomes[0].stats == {"api_calls": 3}


def test_a_dataset_without_dlt_version_is_reported_in_one_line_and_its_runs_still_collected(bq, store):
    copy_dlt_tables(bq, "proj-a.billing", "proj-f.versionless", ("_dlt_loads", "_dlt_pipeline_state"))
    with credentials("bq", COLLECTOR, bq.tokens.url):
        summary = collect_into(store, warehouse(bq, project="proj-f"))
    [outcome] = summary.outcomes
    assert outcome.errors == [
        "source 'bq': bigquery://proj-f dataset 'versionless': no _dlt_version table: its "
        "schema history cannot be read; its runs are still collected"
    ]
    assert rows(store, "SELECT count(*) FROM runs WHERE dataset_name = 'versionless'") == [(1,)]


def test_a_failing_project_is_named_with_its_reason_and_the_others_are_collected(bq, store):
    with credentials("bq", COLLECTOR, bq.tokens.url), credentials("down", COLLECTOR, bq.tokens.url):
        summary = collect_into(
            store,
            warehouse(
                bq,
                projects=["proj-b", "proj-denied", "proj-missing", "proj-quota"],
                datasets=["events", "nope"],
                timeout_s=2,
            ),
            source("down", "bigquery", project="proj-a", api_endpoint=f"http://127.0.0.1:{free_port()}", timeout_s=2),
        )
    bq_errors, down_errors = (o.errors for o in summary.outcomes)
    assert sorted(bq_errors) == [
        "source 'bq': bigquery://proj-denied: access denied (403): Access Denied: Project proj-denied: "
        "User does not have permission",
        "source 'bq': bigquery://proj-missing: not found (404): Not found: Project proj-missing",
        "source 'bq': bigquery://proj-quota: gave up after retrying until the timeout: quota exceeded (429): "
        "Quota exceeded: Your project exceeded quota for api requests",
        # named in `datasets` but held by no project (events is in proj-b only: no error for it)
        "source 'bq': dataset 'nope': not found in any project that could be listed",
    ]
    [down] = down_errors
    assert down.startswith("source 'down': bigquery://proj-a: gave up after retrying until the timeout: cannot reach")
    assert rows(store, "SELECT DISTINCT source, location FROM runs") == [("bq", "bigquery://proj-b")]
    assert rows(store, "SELECT source, status FROM sources ORDER BY 1") == [("bq", "error"), ("down", "error")]


def test_a_revoked_service_account_is_named_and_its_key_goes_nowhere(bq, store, caplog, capfd):
    with credentials("bq", REVOKED, bq.tokens.url):
        summary = collect_into(store, warehouse(bq, project="proj-b"))
    [error] = summary.outcomes[0].errors
    assert error.startswith("source 'bq': bigquery://proj-b: bad credentials: the token request was refused")
    assert "invalid_grant" in error and "[sources.bq.credentials]" in error
    key_line = private_key().splitlines()[1]
    captured = capfd.readouterr()
    assert find_in_store(store, key_line) == []
    for text in (error, caplog.text, captured.out + captured.err):
        assert key_line not in text


def test_count_queries_are_opt_in_and_dry_run_against_the_byte_budget(bq, store):
    with credentials("bq", COLLECTOR, bq.tokens.url):
        within = collect_into(store, warehouse(bq, project="proj-a", datasets=["billing"], count_rows=True))
    assert within.ok, within.outcomes[0].errors
    # root tables only (those with _dlt_load_id): nested tables would need a join
    assert rows(store, "SELECT table_name, row_count FROM table_counts") == [("users", 4)]
    assert rows(store, "SELECT row_count FROM runs") == [(4,)]
    assert within.outcomes[0].stats["dry_runs"] >= 1

    with credentials("over", COLLECTOR, bq.tokens.url):
        over = collect_into(
            store, warehouse(bq, "over", project="proj-a", datasets=["billing"], count_rows=True, max_bytes_billed=0)
        )
    [skipped] = over.outcomes[0].errors
    assert skipped.startswith("source 'over': bigquery://proj-a/billing.users: row count query skipped: it would ")
    assert "more than the 0 left of max_bytes_billed" in skipped
    # _dlt_loads, _dlt_version and _dlt_pipeline_state (billing holds no view: no view SQL either): no count
    assert over.outcomes[0].stats["queries"] == 3

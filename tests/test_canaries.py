"""No data values, no credentials, anywhere: canaries in exception messages, row reprs, URLs and dlt
secrets never reach a column of any table or view of the store, the store file, a command's output,
or a Slack message."""

from __future__ import annotations

import contextlib
import json

import dlt
import pytest

from glasspane.store import Store
from tests import dlt_fixtures as fx
from tests.alerting import FAST_DELIVERY
from tests.slack_server import SlackServer
from tests.store_scan import find_in_store, store_bytes
from tests.test_cli import cli

ROW = "Zq7-row-1111"  # a value in a Python dict repr of a row
JSON_ROW = "Zq7-json-2222"  # a value in a JSON object
QUOTED = "Zq7-quoted-3333"  # a quoted value
TUPLE = "Zq7-tuple-4444"  # a value in a tuple repr
SECRET = "Zq7-secret-5555"  # a dlt secret the resource received
URL_SECRET = "Zq7-urlpass-6666"  # a password written into a source's URL
HOOK = "Zq7-hook-7777"  # the Slack webhook's secret path
CANARIES = (ROW, JSON_ROW, QUOTED, TUPLE, SECRET, URL_SECRET, HOOK)
MESSAGES = {
    "shop": f"bad row {{'id': 7, 'code': '{ROW}', 'amount': 12}}",
    "billing": f'rejected {{"id": 7, "note": "{JSON_ROW}"}}',
    "crm": f"bad value '{QUOTED}' in row (7, '{TUPLE}')",
}


@dlt.resource(name="people")
def people(api_key: str = dlt.secrets.value):
    """A resource that got its API key from dlt's secrets and fails quoting it (as careless code does)."""
    assert api_key == SECRET  # the secret really was resolved
    yield {"id": 1}
    raise RuntimeError(f"upstream refused the key {api_key!r}")


@pytest.fixture
def slack():
    server = SlackServer().start()
    yield server
    server.stop()


def test_no_canary_reaches_the_store_a_command_or_slack(tmp_path, slack, monkeypatch):
    monkeypatch.setenv("SOURCES__API_KEY", SECRET)
    warehouse = tmp_path / "w.duckdb"
    pipelines = tmp_path / "pipelines"
    for name, message in MESSAGES.items():
        p = fx.pipeline(name, pipelines, dlt.destinations.duckdb(str(warehouse)), name)
        fx.run(p, fx.users(2))
        fx.run_failing(p, message, load_trace=True)  # the failed run's trace: in the folder and the warehouse
    hr = fx.pipeline("hr", pipelines, dlt.destinations.duckdb(str(warehouse)), "hr")
    with contextlib.suppress(Exception):
        hr.run(people())
    hr.run([hr.last_trace], table_name="_trace")

    config = tmp_path / "glasspane.toml"
    config.write_text(
        f'[[sources]]\nname = "wh"\nkind = "duckdb"\npath = "{warehouse}"\n\n'
        f'[[sources]]\nname = "laptop"\nkind = "pipelines_dir"\npath = "{pipelines}"\n\n'
        f'[[alerts]]\nrule = "failed"\n\n{FAST_DELIVERY}'
    )
    store = Store(tmp_path / "store.duckdb")
    env = {"RUNTIME__SLACK_INCOMING_HOOK": slack.url(f"/services/T0/B0/{HOOK}"), "SOURCES__API_KEY": SECRET}
    outputs = [
        cli("collect", "--alert", "--config", str(config), "--store", str(store.path), "--quiet", env=env),
        cli("alerts", "--dry-run", "--json", "--config", str(config), "--store", str(store.path), env=env),
    ]
    assert outputs[0].returncode == 0, outputs[0].stderr

    leaky = tmp_path / "leaky.toml"
    leaky.write_text(f'[[sources]]\nname = "bucket"\nkind = "bucket"\nbucket_url = "s3://AKIDX:{URL_SECRET}@b/d"\n')
    refused = cli("collect", "--config", str(leaky), "--store", str(store.path), "--quiet")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: {leaky}: sources #1 'bucket_url': a URL with a credential in it (user:password@) is refused: "
        "put credentials in dlt's secrets (.dlt/secrets.toml or environment variables)"
    ]
    outputs.append(refused)

    # what the store and Slack got is the failure, its type and dlt's words: only the values are gone
    errors = [e for (e,) in store_rows(store, "SELECT error FROM runs WHERE status = 'failed' ORDER BY 1")]
    assert "RuntimeError: bad row ***" in errors and "RuntimeError: rejected ***" in errors
    assert (
        "RuntimeError: bad value '***' in row ***" in errors
        and "RuntimeError: upstream refused the key '***'" in errors
    )
    bodies = [json.dumps(r.body) for r in slack.received]
    assert len(bodies) == 4 and all("***" in b for b in bodies)

    found = {canary: find_in_store(store, canary, views=True) for canary in CANARIES}
    assert found == {canary: [] for canary in CANARIES}
    data = store_bytes(store)  # the catalog and every data file
    assert [c for c in CANARIES if c.encode() in data] == []
    for output in outputs:
        assert [c for c in CANARIES if c in output.stdout + output.stderr] == []
    assert [c for c in CANARIES if any(c in b for b in bodies)] == []


def store_rows(store: Store, sql: str) -> list[tuple]:
    with store.reader() as con:
        return con.execute(sql).fetchall()

"""No data value reaches the store through an error message: dlt's messages name the value that did
not fit, the store keeps the table, the column and the types."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

import dlt
import duckdb
import pydantic
import pytest
from dlt.common.schema.exceptions import CannotCoerceColumnException, CannotCoerceNullException, DataValidationError
from dlt.common.time import ensure_pendulum_datetime
from dlt.extract.incremental.exceptions import IncrementalCursorInvalidCoercion

from collectors.traces import safe_columns
from glasspane.alerts.service import EvaluationReport
from glasspane.dlt_meta import redact, redact_line
from tests import dlt_fixtures as fx
from tests.alerting import alerts_config, evaluate_now
from tests.conftest import collect_into, rows, source
from tests.store_scan import find_in_store

VALUE = "Zq7-coerced-4242"  # a data value that does not fit its column
KEY = "Zq7-key-7777"  # the primary key of a row that breaks a data contract
EXCEPTION_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_name = '_trace__steps__exception_traces'"
)


class Amount(pydantic.BaseModel):
    amount: int


def _message(raising) -> str:
    try:
        raising()
    except Exception as ex:
        return str(ex)
    raise AssertionError("it did not raise")


KEYED = {"columns": {"code": {"name": "code", "primary_key": True}}}  # dlt names a keyed row in contract errors
MESSAGES = {
    "dlt CannotCoerceColumnException": (
        str(CannotCoerceColumnException("shop", "orders", "amount", "text", "bigint", f"`{VALUE}` in table `x`")),
        ("Cannot coerce type `text` to `bigint` for value `***` in table `orders` column `amount`",),
    ),
    "dlt DataValidationError": (
        str(DataValidationError("shop", "orders", "amount", "data_type", "freeze", KEYED, {}, {"code": VALUE})),
        ("In Table: `orders` Column: `amount`", "Offending data item: ***"),
    ),
    "dlt IncrementalCursorInvalidCoercion": (
        str(IncrementalCursorInvalidCoercion("orders", "at", VALUE, "timestamp", {"at": VALUE}, "str", "no order")),
        ("with value `***` and type", "to actual data item `***` at path `at`"),
    ),
    "dlt time coercion": (_message(lambda: ensure_pendulum_datetime([VALUE])), ("Cannot coerce `***` to `pendulum.",)),
    "Python int()": (_message(lambda: int(VALUE)), ("invalid literal for int() with base 10: ***",)),
    "Python float()": (_message(lambda: float(f"it's {VALUE}")), ("could not convert string to float: ***",)),
    "Python fromisoformat": (_message(lambda: dt.date.fromisoformat(VALUE)), ("Invalid isoformat string: ***",)),
    "pydantic": (_message(lambda: Amount(amount=VALUE)), ("[type=int_parsing, input_value=***, input_type=str]",)),
    "DuckDB": (
        _message(lambda: duckdb.execute("SELECT CAST($1 AS BIGINT)", [VALUE])),
        ("Could not convert string '***' to INT64",),
    ),
    "Postgres": (
        f'ERROR:  invalid input syntax for type integer: "{VALUE}"\nDETAIL:  Key (code)=({VALUE}) already exists.',
        ('invalid input syntax for type integer: "***"', "Key (code)=(***) already exists."),
    ),
    "BigQuery": (f"Could not parse '{VALUE}' as INT64 for field amount", ("Could not parse '***' as INT64 for field",)),
}


@pytest.mark.parametrize("origin", MESSAGES)
def test_the_value_in_a_message_is_masked_and_its_table_column_and_types_kept(origin):
    message, kept = MESSAGES[origin]
    assert VALUE in message
    redacted = redact(message) or ""
    assert VALUE not in redacted and "Zq7" not in redacted
    for part in kept:
        assert part in redacted


def test_a_message_without_a_value_is_kept_whole():
    message = str(CannotCoerceNullException("shop", "orders", "amount"))
    assert redact(message) == message


def _coercion_fails() -> dlt.sources.DltResource:
    """dlt's normalizer cannot coerce a text into the bigint variant column: CannotCoerceColumnException."""

    @dlt.resource(name="orders", columns={"amount": {"data_type": "bigint"}, "amount__v_text": {"data_type": "bigint"}})
    def orders():
        yield [{"id": 1, "amount": 5}, {"id": 2, "amount": VALUE}]

    return orders


def _contract_fails() -> dlt.sources.DltResource:
    """A frozen data type refuses the variant column dlt would add: DataValidationError, naming the row's key."""

    @dlt.resource(
        name="invoices",
        primary_key="code",
        columns={"total": {"data_type": "bigint"}},
        schema_contract={"data_type": "freeze"},
    )
    def invoices():
        yield [{"code": "K1", "total": 5}, {"code": KEY, "total": VALUE}]

    return invoices


def detail_of(report: EvaluationReport, subject: str) -> str:
    """The detail (the error's first line) of the alert about this pipeline."""
    return next(a.detail or "" for a in report.alerts if a.subject == subject)


def test_values_in_dlt_errors_never_reach_the_store_but_table_and_column_do(tmp_path, store, monkeypatch):
    monkeypatch.delenv("RUNTIME__SLACK_INCOMING_HOOK", raising=False)
    warehouse = tmp_path / "w.duckdb"
    failing = {
        "shop": (_coercion_fails(), "orders", "amount__v_text"),
        "billing": (_contract_fails(), "invoices", "total__v_text"),
    }
    pipelines = {
        name: fx.pipeline(name, tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), name)
        for name in failing
    }
    for name, p in pipelines.items():
        with contextlib.suppress(Exception):
            p.run(failing[name][0]())
    # the working folders' traces (the failed normalize step), then the same traces loaded into the warehouse
    assert collect_into(store, source("local", "pipelines_dir", path=str(tmp_path / "pipelines"))).ok
    for p in pipelines.values():
        p.abort_packages()
        p.run([p.last_trace], table_name="_trace")
    with duckdb.connect(str(warehouse), read_only=True) as con:  # dlt keeps the offending row in exception_attrs
        traced = con.execute(EXCEPTION_COLUMNS).fetchall()
    assert ("exception_attrs",) in traced and "exception_attrs" not in safe_columns([c for (c,) in traced])
    assert collect_into(store, source("wh", "duckdb", path=str(warehouse))).ok
    report = evaluate_now(store, alerts_config(tmp_path, '[[alerts]]\nrule = "failed"\n'))

    assert sorted(a.subject for a in report.alerts) == ["billing", "shop"]
    for name, (_, table, column) in failing.items():
        errors = rows(store, "SELECT DISTINCT error FROM runs WHERE pipeline_name = ? AND status = 'failed'", [name])
        errors += rows(
            store,
            "SELECT error FROM run_steps WHERE error IS NOT NULL AND run_key IN "
            "(SELECT run_key FROM runs WHERE pipeline_name = ?)",
            [name],
        )
        for error in [e for (e,) in errors] + [detail_of(report, name)]:
            assert f"table `{table}`" in error and f"`{column}`" in error and "***" in error
    assert "Cannot coerce type `text` to `bigint` for value `***`" in detail_of(report, "shop")
    assert "Offending data item: ***" in detail_of(report, "billing")
    for value in (VALUE, KEY):
        assert find_in_store(store, value) == []


CANARY = "Zq7-canary-9191"
# Messages a resource or a destination raises with a row or a value in them; what must stay of each.
GENERIC = {
    "Python dict repr of a row": (f"ValueError: bad row {{'id': 7, 'code': '{CANARY}'}}", "ValueError: bad row ***"),
    "JSON of a row": (
        f'ValueError: rejected {{"id": 7, "note": "{CANARY}"}} at offset 3',
        "ValueError: rejected *** at offset 3",
    ),
    "tuple repr of a row": (f"ValueError: bad row (7, '{CANARY}', 3.5)", "ValueError: bad row ***"),
    "list repr of values": (f"ValueError: values ['{CANARY}', 'x'] rejected", "ValueError: values *** rejected"),
    "quoted value": (f'ValueError: bad value "{CANARY}" in `note`', 'ValueError: bad value "***" in `note`'),
    "KeyError of a value": (f"KeyError: '{CANARY}'", "KeyError: '***'"),
    "dlt's wrapper keeps resource and pipe": (
        f"ResourceExtractionError: In processing pipe `users`: extraction of resource `users` in generator `users` "
        f"caused an exception: bad row {{'id': 1, 'name': '{CANARY}'}}",
        "ResourceExtractionError: In processing pipe `users`: extraction of resource `users` in generator `users` "
        "caused an exception: bad row ***",
    ),
}
# Names stay: a source, a column or a file quoted after the word that says what it is.
NAMES = [
    "source 'folder': /tmp/p/crm/trace.pickle: unreadable trace (UnpicklingError)",
    'Binder Error: Referenced column "amount" not found in FROM clause!',
    "[Errno 2] No such file or directory: '/tmp/a b/w.duckdb'",
    "columns ['email', 'name'] are not in table 'users'",
    "dlt couldn't find the pipeline's state",
]


@pytest.mark.parametrize("case", GENERIC)
def test_quoted_literals_and_reprs_of_rows_become_stars(case):
    message, redacted = GENERIC[case]
    assert redact(message) == redacted


@pytest.mark.parametrize("message", NAMES)
def test_names_of_sources_columns_tables_and_files_are_kept(message):
    assert redact(message) == message


def test_a_message_for_one_line_is_folded_redacted_and_cut_to_its_limit():
    message = "rule 'late':\n  OperationalError: password=hunter2 for\tana@example.com\n" + "x" * 600
    line = redact_line(message)
    assert "\n" not in line and "\t" not in line and "  " not in line
    assert "hunter2" not in line and "ana@example.com" not in line
    assert line.startswith("rule 'late': OperationalError:") and len(line) == 500 and line.endswith("…")
    assert redact_line("a\n b", limit=300) == "a b"


def test_sql_definitions_keep_their_quoted_identifiers():
    sql = """SELECT "id" FROM "crm"."users" WHERE status = 'active'"""
    assert redact(sql, literals=False) == sql


def test_a_message_built_to_be_slow_to_redact_is_redacted_in_linear_time():
    """50,000 unclosed brackets took quadratic time (minutes) in a first version: a collector must not hang."""
    started = time.perf_counter()
    assert redact("(" * 50_000 + f" '{CANARY}'", limit=100_000).endswith(" '***'")
    assert time.perf_counter() - started < 10

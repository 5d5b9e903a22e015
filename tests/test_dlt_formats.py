"""dlt's stored schemas and states, decoded without importing dlt, read as dlt itself reads them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.schema.utils import get_root_table
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.common.versioned_state import decompress_state
from dlt.pipeline.trace import TRACE_FILE_NAME as DLT_TRACE_FILE_NAME

from collectors.traces import TRACE_FILE_NAME
from glasspane.dlt_meta import decode_stored, job_file_table, schema_columns
from tests import dlt_fixtures as fx

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dlt.resource(name="events", primary_key="id")
def events(
    updated_at: Any = dlt.sources.incremental("updated_at", initial_value=START),  # noqa: B008 (dlt's documented form)
) -> Iterator[dict[str, Any]]:
    """Rows with an incremental datetime cursor: dlt keeps its last value, typed, in the pipeline state."""
    yield {"id": 1, "updated_at": dt.datetime(2024, 5, 1, tzinfo=dt.UTC), "tags": [{"tag": "a"}]}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The `_dlt_version` schemas and `_dlt_pipeline_state` states two real runs stored in DuckDB, and the
    names of the files their working folder keeps in its load packages."""
    folder = tmp_path_factory.mktemp("formats")
    warehouse = folder / "w.duckdb"
    p = fx.pipeline("crm", folder / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(3), load_trace=False)
    fx.run(p, events(), load_trace=False)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = [r[0] for r in con.execute("SELECT schema FROM crm._dlt_version").fetchall()]
        states = [r[0] for r in con.execute("SELECT state FROM crm._dlt_pipeline_state").fetchall()]
    packages = folder / "pipelines" / "crm" / "load" / "loaded"
    kept = [path.name for path in packages.glob("*/*/*")]
    return {"schemas": schemas, "states": states, "kept": kept}


def test_stored_schemas_decode_as_dlt_decodes_them(stored):
    assert len(stored["schemas"]) >= 2
    for text in stored["schemas"]:
        assert decode_stored(text) == decompress_state(text)


def test_stored_states_give_the_names_dlt_gives(stored):
    assert len(stored["states"]) >= 2
    for text in stored["states"]:
        ours, dlts = decode_stored(text), decompress_state(text)
        assert ours.keys() == dlts.keys()
        for key in ("pipeline_name", "dataset_name", "default_schema_name", "schema_names", "_state_version"):
            assert ours.get(key) == dlts.get(key)
    # the incremental cursor is a value: dlt revives it as a datetime, Glasspane leaves it a string
    newest = decompress_state(stored["states"][-1])["sources"]["crm"]["resources"]["events"]["incremental"]
    assert isinstance(newest["updated_at"]["last_value"], dt.datetime)


def test_nested_tables_have_the_root_dlt_finds(stored):
    schema = decode_stored(stored["schemas"][-1])
    tables = schema["tables"]
    nested = [name for name, table in tables.items() if table.get("parent")]
    assert {"users__addresses", "events__tags"} <= set(nested)
    roots = {(c.table_name, c.root_table) for c in schema_columns(schema)}
    for name in nested:
        assert (name, get_root_table(tables, name)["name"]) in roots


def test_a_schema_with_a_dangling_or_circular_parent_still_lists_its_columns():
    column = {"id": {"name": "id", "data_type": "bigint"}}
    tables = {
        "orphan": {"name": "orphan", "parent": "gone", "columns": column},
        "a": {"name": "a", "parent": "b", "columns": column},
        "b": {"name": "b", "parent": "a", "columns": column},
    }
    roots = {c.table_name: c.root_table for c in schema_columns({"tables": tables})}
    assert roots["orphan"] == "orphan"
    assert {roots["a"], roots["b"]} <= {"a", "b"}


@pytest.mark.parametrize("text", ["eJzz%%broken", "[1, 2]", "{not json", ""])
def test_text_that_is_neither_json_nor_zlib_base64_is_refused_in_one_short_reason(text):
    with pytest.raises(ValueError) as refused:
        decode_stored(text)
    assert re.fullmatch(r"not valid JSON or zlib\+base64 \(\w+\)|not a JSON object", str(refused.value))


def test_job_files_name_their_table_as_dlt_parses_them_and_other_files_name_none(stored):
    assert any(job_file_table(name) == "users" for name in stored["kept"])
    odd = ["load_package_state.json", "users.c0361c3092.x.parquet", "users.c0361c3092.0.parquet.zip", "a.b.c"]
    for name in [*stored["kept"], *odd, "users.c0361c3092.1.jsonl"]:
        try:
            expected = ParsedLoadJobFileName.parse(name).table_name
        except ValueError:
            expected = None
        assert job_file_table(name) == expected, name


def test_the_trace_file_has_the_name_dlt_gives_it():
    assert TRACE_FILE_NAME == DLT_TRACE_FILE_NAME

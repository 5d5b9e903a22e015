"""The store scan the no-value tests rely on finds a value in any text column of any schema,
where a search of the file's bytes does not."""

from __future__ import annotations

import pytest

from tests.store_scan import find_in_store, store_bytes

NEEDLE = "Zq7-needle-4242"
# one column of each kind that can hold text, in a schema of its own
COLUMNS = {
    "plain": ("VARCHAR", "'value ' || ?"),
    "doc": ("JSON", "json_object('k', ?)"),
    "tags": ("VARCHAR[]", "['a', ?]"),
    "nested": ("STRUCT(parts VARCHAR[])", "{'parts': [?]}"),
    "pairs": ("MAP(VARCHAR, VARCHAR)", "MAP {'k': ?}"),
}


@pytest.mark.parametrize("column", COLUMNS)
def test_the_scan_finds_a_value_in_each_kind_of_text_column(store, column):
    kind, expression = COLUMNS[column]
    with store.writer() as con:
        con.execute(f"CREATE SCHEMA scratch; CREATE TABLE scratch.t (id BIGINT, {column} {kind})")
        con.execute(f"INSERT INTO scratch.t VALUES (1, {expression})", [NEEDLE.upper()])
    assert find_in_store(store, NEEDLE) == [f"scratch.t.{column}"]


def test_the_scan_finds_a_value_the_files_bytes_do_not_show(store):
    with store.writer() as con:  # one message among many similar ones: Parquet compresses their pages
        con.execute(
            """INSERT INTO raw.collect_log (collect_id, source, started_at, finished_at, status, errors)
               SELECT 'c' || i, 'src', now(), now(), 'error',
                      ['source ''src'': row ' || i || ' failed: ' || CASE WHEN i = 10000 THEN ? ELSE 'other' END]
               FROM range(20000) r(i)""",
            [NEEDLE],
        )
    assert NEEDLE.encode() not in store_bytes(store)
    assert find_in_store(store, NEEDLE) == ["raw.collect_log.errors"]
    assert find_in_store(store, "no-such-value") == []

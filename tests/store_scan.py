"""Finding a value anywhere in a pane store, by querying it: the store's Parquet files compress strings
(dictionaries, pages), so a search of the files' bytes can miss a value the store holds."""

from __future__ import annotations

from glasspane.store import Store

# column types whose values can hold text: VARCHAR, JSON, BLOB, ENUM, and nested types (lists, structs, maps, unions)
TEXT_TYPES = r"VARCHAR|JSON|BLOB|ENUM|\[\]|STRUCT|MAP|UNION"


def text_columns(store: Store, views: bool = False) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every column that can hold text, in every table of every schema
    (and, with `views`, in every view)."""
    relations = (
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() WHERE NOT internal AND NOT temporary"
    )
    if views:
        relations += (
            " UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views() "
            "WHERE NOT internal AND NOT temporary"
        )
    with store.reader() as con:
        return con.execute(
            f"""SELECT c.schema_name, c.table_name, c.column_name
               FROM duckdb_columns() c JOIN ({relations}) t USING (database_name, schema_name, table_name)
               WHERE c.database_name = current_database() AND regexp_matches(c.data_type, ?)
               ORDER BY 1, 2, c.column_index""",
            [TEXT_TYPES],
        ).fetchall()


def store_bytes(store: Store) -> bytes:
    """Every byte an embedded store keeps on disk: its catalog and its data files."""
    assert store.path is not None
    files = [store.path, *sorted(p for p in store.path.parent.glob(f"{store.path.name}*") if p.is_file())]
    files += sorted(p for p in store.path.with_name(store.path.name + ".files").rglob("*") if p.is_file())
    return b"".join(p.read_bytes() for p in dict.fromkeys(files))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def find_in_store(store: Store, value: str, views: bool = False) -> list[str]:
    """`schema.table.column` of every column holding `value` (case-insensitive) in any row (of a table,
    and with `views` of a view too)."""
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in text_columns(store, views):
        columns.setdefault((schema, table), []).append(column)
    found = []
    with store.reader() as con:
        for (schema, table), names in columns.items():
            holds = (f"contains(lower(CAST({_quote(c)} AS VARCHAR)), lower($1))" for c in names)
            counts = ", ".join(f"count(*) FILTER ({condition})" for condition in holds)
            hits = con.execute(f"SELECT {counts} FROM {_quote(schema)}.{_quote(table)}", [value]).fetchone() or ()
            found += [f"{schema}.{table}.{c}" for c, n in zip(names, hits, strict=True) if n]
    return found

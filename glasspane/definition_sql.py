"""The SQL of a view or a model definition, as collectors read it and lineage traces it: its kinds, and its query."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

VIEW, MODEL = "view", "model"


class DefinitionError(ValueError):
    """A definition whose query cannot be read or traced; the message is one line."""


def parse_definition(sql: str, dialect: str) -> tuple[exp.Query, list[str] | None]:
    """The query of a definition (a SELECT, or CREATE VIEW/TABLE ... AS SELECT) and any declared column names.

    Raises DefinitionError when the text is not one query sqlglot can read in this dialect.
    """
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except Exception as ex:  # parse and tokenizer errors, unknown dialects: all mean the same to a user
        raise DefinitionError(f"sqlglot cannot parse it as {dialect} SQL: {error_line(ex)}") from None
    if len(statements) != 1:
        raise DefinitionError(f"expected one SELECT statement, found {len(statements)} statements")
    statement = statements[0]
    declared = None
    if isinstance(statement, exp.Create):
        if isinstance(statement.this, exp.Schema) and statement.this.expressions:
            declared = [e.name for e in statement.this.expressions]
        statement = statement.expression
    if not isinstance(statement, exp.Query):
        raise DefinitionError(f"not a query: {type(statement).__name__.upper()} statement (expected SELECT)")
    return statement, declared


def error_line(ex: BaseException) -> str:
    """The first line of an error, whitespace folded, at most 300 characters."""
    text = " ".join(str(ex).split("\n")[0].split())
    return text[:300] or type(ex).__name__

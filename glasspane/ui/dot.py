"""Graphviz DOT text shared by the dashboard's graphs."""


def quote(text: str) -> str:
    """A DOT string literal: any name, quotes and newlines included, stays a label, never markup."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

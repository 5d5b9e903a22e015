"""The query layer: every read the app makes of the pane store, grouped by topic.

Functions take a DuckDB connection first and plain keyword filters; filter values are always
bound as parameters, never pasted into SQL.
"""

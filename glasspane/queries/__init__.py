"""The query layer: the pages' reads of the pane store, grouped by topic, and the health model's SQL
(`health`). The alert rules' own reads are beside them (`glasspane.alerts.reads`); the store's
bookkeeping reads are in `glasspane.store`.

Functions take a DuckDB connection first and plain keyword filters; filter values are always
bound as parameters, never pasted into SQL.
"""

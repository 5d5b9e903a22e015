"""Collectors: read dlt's metadata wherever pipelines load, into the Glasspane pane store."""

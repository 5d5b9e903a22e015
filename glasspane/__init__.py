"""Glasspane: one pane of glass over every dlt pipeline, built from dlt's own metadata."""

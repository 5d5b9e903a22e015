"""Deleting one data subject: `model` (what a plan holds), `plan` (building it from the store's metadata),
`targets` (the destinations it runs on) and `execute` (running and auditing it)."""

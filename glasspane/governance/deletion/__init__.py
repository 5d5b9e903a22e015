"""Deleting one data subject: `model` (what a plan holds), `metadata` (what the store knows that a plan needs),
`plan` (building it), `targets` (the destinations it runs on) and `execute` (running and auditing it)."""

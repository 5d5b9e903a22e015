"""`python -m glasspane`: the command line (`glasspane.cli`)."""

from glasspane.cli.main import main

raise SystemExit(main(prog="python -m glasspane"))

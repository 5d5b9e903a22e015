"""`python -m collectors`: the command line (`glasspane.cli`), under the name scripts and docs know it by."""

from glasspane.cli.main import main

raise SystemExit(main())

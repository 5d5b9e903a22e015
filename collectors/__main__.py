"""Command line: `python -m collectors collect | demo`."""

from collectors.cli import main

raise SystemExit(main())

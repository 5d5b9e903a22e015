"""`demo`: build the demo data with real dlt pipelines (`glasspane.demo`), then collect it."""

from __future__ import annotations

import argparse
from pathlib import Path

from glasspane import settings
from glasspane.cli.collect import run_collect
from glasspane.cli.common import add_common
from glasspane.store import Store


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register the `demo` sub-command."""
    demo_cmd = commands.add_parser("demo", help="build demo data with real dlt pipelines, then collect it")
    demo_cmd.add_argument("--dir", help="where to build the demo places (default: .glasspane/demo beside the store)")
    add_common(demo_cmd)
    demo_cmd.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """Build the demo data with real dlt pipelines, then collect it."""
    from glasspane.demo.pipelines import build_demo

    folder = Path(args.dir).resolve() if args.dir else settings.demo_dir(Store.from_settings(args.store).path)
    print(f"building demo data in {folder} (real dlt runs, about half a minute)")
    config_file = build_demo(folder, progress=lambda message: print(f"  {message}", flush=True))
    args.config, args.source = str(config_file), None
    code = run_collect(args)
    print(f"re-collect the demo with: python -m collectors collect --config {config_file}")
    return code

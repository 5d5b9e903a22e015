"""The `python -m collectors` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from collectors import backtest, forget, registry, store_command
from collectors.runner import CollectSummary, Progress, collect
from glasspane import settings
from glasspane.config import Config, ConfigError, load_config
from glasspane.dlt_meta import redact
from glasspane.store import Store, StoreBusy

if TYPE_CHECKING:
    from glasspane.alerts.config import AlertConfig

EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE = 0, 1, 2
STORE_HELP = (
    f"pane store: a path, or postgres://host/db?data_path=URL (default: ${settings.STORE_ENV} or "
    f"{settings.DEFAULT_STORE.name})"
)
NOTHING_TO_COLLECT = (
    "no config file, and dlt's pipelines folder {folder} does not exist yet: nothing to collect yet "
    "(run a dlt pipeline, or configure sources in glasspane.toml)"
)


def _progress_bar(quiet: bool):
    """A tqdm bar whose total grows as sources discover their datasets."""
    if quiet:
        return None, lambda progress: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="dataset", file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(progress: Progress) -> None:
        bar.total = progress.total
        bar.n = progress.done
        bar.set_description_str(progress.message[:60], refresh=False)
        bar.refresh()

    return bar, update


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} B"


def describe_cost(stats: dict[str, int]) -> str:
    """What reading a remote source cost: requests and bytes read, API calls, queries, bytes billed."""
    parts = []
    requests = stats.get("list_calls", 0) + stats.get("get_calls", 0)
    if requests:
        listings, read = stats.get("list_calls", 0), _bytes(stats.get("bytes_read", 0))
        parts.append(f"{requests:,} requests ({listings:,} listings), {read} read")
    if "api_calls" in stats:
        parts.append(f"{stats['api_calls']:,} API calls, {stats.get('queries', 0):,} queries")
        parts.append(f"{_bytes(stats.get('bytes_billed', 0))} billed")
    return ", ".join(parts)


def format_summary(summary: CollectSummary) -> str:
    """A per-source table: datasets, new runs, status, and each error on its own line."""
    rows = [("source", "kind", "datasets", "new runs", "status")]
    rows += [(o.source, o.kind, str(o.datasets), str(o.new_runs), o.status) for o in summary.outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    for outcome in summary.outcomes:
        cost = describe_cost(outcome.stats)
        if cost:
            lines.append(f"cost: {outcome.source}: {cost}")
    for outcome in summary.outcomes:
        lines += [f"error: {error}" for error in outcome.errors]
    lines += [f"error: {note}" for note in summary.notes]
    if summary.maintenance is not None:
        m = summary.maintenance
        lines.append(f"store maintained: {m.files_before:,} data files → {m.files_after:,}, "
                     f"{m.snapshots_expired:,} old snapshots expired")  # fmt: skip
    failed = sum(o.status != "ok" for o in summary.outcomes)
    lines.append(
        f"{len(summary.outcomes)} sources, {summary.new_runs} new runs"
        + (f", {failed} failed" if failed else ", all ok")
    )
    return "\n".join(lines)


def _alert_rules(config: Config) -> tuple[AlertConfig | None, ConfigError | None]:
    """The alert rules of a config, or the mistake that keeps them from being used."""
    from glasspane.alerts.config import alert_config

    try:
        return alert_config(config), None
    except ConfigError as ex:
        return None, ex


def run_collect(args: argparse.Namespace) -> int:
    """Collect the configured (or named) sources into the store and print a summary; with --alert, then alert.

    A mistake in the alert config never blocks the collect: it is reported after it, alerting is
    skipped, and the exit code is 2 so that a scheduled run shows it.
    """
    config = load_config(args.config)
    collectors = registry.build_all(config, args.source)
    rules, alert_mistake = _alert_rules(config) if getattr(args, "alert", False) else (None, None)
    store = Store.from_settings(args.store)
    if config.is_default and not config.sources:
        print(NOTHING_TO_COLLECT.format(folder=settings.default_pipelines_dir()))
        return EXIT_OK
    if config.is_default:
        print(f"no config file: collecting dlt's pipelines folder {config.sources[0].options['path']}")
    bar, update = _progress_bar(args.quiet)
    try:
        summary = collect(collectors, store, progress=update)
    finally:
        if bar is not None:
            bar.close()
    print(format_summary(summary))
    print(f"store: {store}")
    if alert_mistake is not None:
        print(f"error: {alert_mistake}; alerts skipped", file=sys.stderr)
        return EXIT_USAGE
    if rules is not None:
        from glasspane.alerts.report import format_report
        from glasspane.alerts.service import evaluate
        from glasspane.alerts.slack import resolve_destination

        try:  # alerting never fails the collect
            print(format_report(evaluate(store, rules, resolve_destination(rules.settings))))
        except Exception as ex:
            print(f"error: alerts: {redact(' '.join(str(ex).split()), 500)}", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_SOURCE_FAILED


def run_alerts(args: argparse.Namespace) -> int:
    """Evaluate the alert rules over the store and send what is new (or, with --dry-run, print it);
    with --backtest or --from-csv, replay the rules instead (`collectors.backtest`)."""
    if args.backtest or args.from_csv:
        return backtest.run(args)
    from glasspane.alerts.config import alert_config
    from glasspane.alerts.report import format_report
    from glasspane.alerts.service import evaluate
    from glasspane.alerts.slack import resolve_destination

    rules = alert_config(load_config(args.config))
    store = Store.from_settings(args.store)
    if not store.exists():
        raise ConfigError(f"{store}: no pane store yet: collect first (python -m collectors collect --alert)")
    report = evaluate(store, rules, resolve_destination(rules.settings), dry_run=args.dry_run)
    print(format_report(report, as_json=args.json))
    return EXIT_OK if report.ok else EXIT_SOURCE_FAILED


def run_demo(args: argparse.Namespace) -> int:
    """Build the demo data with real dlt pipelines, then collect it."""
    from collectors.demo import build_demo

    folder = Path(args.dir).resolve() if args.dir else settings.demo_dir(Store.from_settings(args.store).path)
    print(f"building demo data in {folder} (real dlt runs, about half a minute)")
    config_file = build_demo(folder, progress=lambda message: print(f"  {message}", flush=True))
    args.config, args.source = str(config_file), None
    code = run_collect(args)
    print(f"re-collect the demo with: python -m collectors collect --config {config_file}")
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per action."""
    parser = argparse.ArgumentParser(prog="python -m collectors", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--store", help=STORE_HELP)
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    collect_cmd = commands.add_parser("collect", help="collect every configured source into the store")
    collect_cmd.add_argument("--config", help=f"config file (default: ${settings.CONFIG_ENV} or glasspane.toml)")
    collect_cmd.add_argument(
        "--source", action="extend", nargs="+", metavar="NAME", help="collect only these sources (repeatable)"
    )
    collect_cmd.add_argument("--alert", action="store_true", help="then evaluate the alert rules and notify Slack")
    common(collect_cmd)
    collect_cmd.set_defaults(handler=run_collect)

    alerts_cmd = commands.add_parser("alerts", help="evaluate the alert rules over the store and notify Slack")
    alerts_cmd.add_argument("--config", help=f"config file (default: ${settings.CONFIG_ENV} or glasspane.toml)")
    alerts_cmd.add_argument("--dry-run", action="store_true", help="print what would be sent; send and store nothing")
    alerts_cmd.add_argument("--json", action="store_true", help="also print each message's Block Kit JSON")
    alerts_cmd.add_argument("--store", help=STORE_HELP)
    alerts_cmd.add_argument(
        "--backtest",
        metavar="PERIOD",
        help="replay the rules over the stored history of PERIOD (e.g. 90d): alerts they would "
        "have sent, per rule and pipeline, and the noisiest series; sends nothing",
    )
    alerts_cmd.add_argument("--from-csv", metavar="FILE",
                            help="score series from a CSV (series, loaded_at, row_count) by the volume rule; "
                                 "with --json every point with its verdict")  # fmt: skip
    alerts_cmd.set_defaults(handler=run_alerts)

    demo_cmd = commands.add_parser("demo", help="build demo data with real dlt pipelines, then collect it")
    demo_cmd.add_argument("--dir", help="where to build the demo places (default: .glasspane/demo beside the store)")
    common(demo_cmd)
    demo_cmd.set_defaults(handler=run_demo)
    forget.add_command(commands, common)
    store_command.add_command(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors in config or arguments print one line and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, StoreBusy) as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_USAGE

"""`collect`: read every configured source into the store, print a summary, and with `--alert` evaluate the rules."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from collectors import registry
from collectors.runner import CollectSummary, Progress, collect
from glasspane import settings
from glasspane.cli.common import CONFIG_HELP, EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_common
from glasspane.config import Config, ConfigError, load_config
from glasspane.dlt_meta import redact_line
from glasspane.formatting import plural
from glasspane.store import Store

if TYPE_CHECKING:
    from glasspane.alerts.rule_config import AlertConfig

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
        done = f"compacted {', '.join(m.compacted)}" if m.compacted else ""
        lines.append(
            f"store maintained: {m.files_before:,} data files → {m.files_after:,}, "
            f"{m.snapshots_expired:,} old snapshots expired" + (f", {done}" if done else "")
        )
    failed = sum(o.status != "ok" for o in summary.outcomes)
    lines.append(
        f"{plural(len(summary.outcomes), 'source')}, {plural(summary.new_runs, 'new run')}"
        + (f", {failed} failed" if failed else ", all ok")
    )
    return "\n".join(lines)


def _alert_rules(config: Config) -> tuple[AlertConfig | None, ConfigError | None]:
    """The alert rules of a config, or the mistake that keeps them from being used."""
    from glasspane.alerts.rule_config import alert_config

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
    print(f"store: {store} ({store.writes.describe()})")
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
            print(f"error: alerts: {redact_line(str(ex))}", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_FAILED


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register the `collect` sub-command."""
    collect_cmd = commands.add_parser("collect", help="collect every configured source into the store")
    collect_cmd.add_argument("--config", help=CONFIG_HELP)
    collect_cmd.add_argument(
        "--source", action="extend", nargs="+", metavar="NAME", help="collect only these sources (repeatable)"
    )
    collect_cmd.add_argument("--alert", action="store_true", help="then evaluate the alert rules and notify Slack")
    add_common(collect_cmd)
    collect_cmd.set_defaults(handler=run_collect)

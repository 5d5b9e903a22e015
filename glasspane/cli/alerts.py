"""`alerts`: evaluate the alert rules over the store and notify Slack; with `--backtest PERIOD` or
`--from-csv FILE`, replay the rules instead (`glasspane.alerts.backtest`) and send nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from glasspane.cli.common import CONFIG_HELP, EXIT_FAILED, EXIT_OK, STORE_HELP, existing_store
from glasspane.config import load_config

NO_STORE = "no pane store yet: collect first (python -m collectors collect{alert})"


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register the `alerts` sub-command."""
    alerts_cmd = commands.add_parser("alerts", help="evaluate the alert rules over the store and notify Slack")
    alerts_cmd.add_argument("--config", help=CONFIG_HELP)
    alerts_cmd.add_argument("--dry-run", action="store_true", help="print what would be sent; send and store nothing")
    alerts_cmd.add_argument("--json", action="store_true", help="also print each message's Block Kit JSON")
    alerts_cmd.add_argument("--store", help=STORE_HELP)
    alerts_cmd.add_argument(
        "--backtest",
        metavar="PERIOD",
        help="replay the rules over the stored history of PERIOD (e.g. 90d): alerts they would "
        "have sent, per rule and pipeline, and the noisiest series; sends nothing",
    )
    alerts_cmd.add_argument(
        "--from-csv",
        metavar="FILE",
        help="score series from a CSV (series, loaded_at, row_count) by the volume rule; "
        "with --json every point with its verdict",
    )
    alerts_cmd.set_defaults(handler=run_alerts)


def run_alerts(args: argparse.Namespace) -> int:
    """Evaluate the alert rules over the store and send what is new (or, with --dry-run, print it);
    with --backtest or --from-csv, replay the rules instead."""
    if args.backtest or args.from_csv:
        return run_backtest(args)
    from glasspane.alerts.report import format_report
    from glasspane.alerts.rule_config import alert_config
    from glasspane.alerts.service import evaluate
    from glasspane.alerts.slack import resolve_destination

    rules = alert_config(load_config(args.config))
    store = existing_store(args.store, NO_STORE.format(alert=" --alert"))
    report = evaluate(store, rules, resolve_destination(rules.settings), dry_run=args.dry_run)
    print(format_report(report, as_json=args.json))
    return EXIT_OK if report.ok else EXIT_FAILED


def run_backtest(args: argparse.Namespace) -> int:
    """`alerts --backtest PERIOD` / `--from-csv FILE`: print, send and store nothing."""
    from glasspane.alerts import backtest
    from glasspane.alerts.rule_config import alert_config

    rules = alert_config(load_config(args.config))
    if args.from_csv:
        scored = backtest.score_csv(backtest.read_series_csv(Path(args.from_csv)), backtest.volume_rule_of(rules))
        print(backtest.format_csv_scores(scored, as_json=args.json))
        return EXIT_OK
    days = backtest.period_days(args.backtest)
    store = existing_store(args.store, NO_STORE.format(alert=""))
    with store.reader() as con:
        results = backtest.backtest_store(con, rules, days)
    print(backtest.backtest_json(results) if args.json else backtest.format_backtest(results, days))
    return EXIT_OK

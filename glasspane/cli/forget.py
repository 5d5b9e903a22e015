"""`forget`: a deletion plan for one data subject, exported or executed.

A dry run by default: it prints the plan with the subject's value shown as a parameter
(`$subject`), and `--sql` / `--json` write it with the value in. `--execute` runs it on the DuckDB
files, BigQuery projects and Postgres databases it names (BigQuery with the credentials of the
configured source that reads the project, Postgres with dlt's [destination.postgres.credentials])
and records every statement in the store's `deletion_audit`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from collectors import registry
from glasspane.cli.common import CONFIG_HELP, EXIT_OK, EXIT_USAGE, add_common
from glasspane.config import ConfigError, load_config
from glasspane.store import Store

if TYPE_CHECKING:  # governance loads when `forget` runs, not with every command
    from glasspane.governance.deletion.model import DeletionPlan

EXIT_INCOMPLETE = 1


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register the `forget` sub-command."""
    forget = commands.add_parser(
        "forget",
        help="plan (and with --execute, run) the deletion of one data subject's rows",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    forget.add_argument("--column-kind", required=True, metavar="KIND", help="PII kind to match, e.g. email")
    forget.add_argument(
        "--value", required=True, help="the subject's value; '-' reads it from stdin (keeps it out of shell history)"
    )
    forget.add_argument("--sql", metavar="FILE", help="write the plan as SQL (contains the value)")
    forget.add_argument("--json", metavar="FILE", help="write the plan as JSON (contains the value)")
    forget.add_argument("--execute", action="store_true", help="run the statements (DuckDB, BigQuery, Postgres)")
    forget.add_argument("--config", help=f"{CONFIG_HELP}; for BigQuery sources")
    forget.add_argument("--by", default=None, help="who asks for the deletion, for the audit (default: your user)")
    add_common(forget)
    forget.set_defaults(handler=run_forget)


def run_forget(args: argparse.Namespace) -> int:
    """Plan, print, export and (with --execute) run one subject's deletion."""
    from glasspane.governance.deletion.execute import execute, history_lines, plan_for
    from glasspane.governance.subjects import SubjectError
    from glasspane.queries.governance import subject_history

    value = sys.stdin.readline() if args.value == "-" else args.value
    store = Store.from_settings(args.store)
    try:
        plan = plan_for(store, args.column_kind, value)
    except SubjectError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(describe(plan)))
    with store.reader() as con:
        history = subject_history(con, plan.subject_hash)
    for line in history_lines(history):
        print(line)
    for path, text in ((args.sql, plan.to_sql), (args.json, plan.to_json)):
        if path:
            Path(path).write_text(text())
            print(f"wrote {path} (it contains the subject's value)")
    if not args.execute:
        print("dry run: nothing was deleted. Add --execute to run the statements.")
        return EXIT_OK
    if not plan.statements:
        print("nothing to execute.")
        return EXIT_OK
    try:
        sources = load_config(args.config).sources
    except ConfigError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return EXIT_USAGE
    report = execute(plan, value, store, args.by or getpass.getuser(), registry.bigquery_opener(sources))
    print("\n".join(report.lines()))
    return EXIT_OK if report.complete else EXIT_INCOMPLETE


def describe(plan: DeletionPlan) -> list[str]:
    """The plan for a terminal: statements with the value as a parameter, then what else to know."""
    from glasspane.governance.deletion.model import CLEARED, NOT_SUPPORTED, REBUILD, STATEMENT_ACTIONS
    from glasspane.governance.subjects import format_note

    lines = [
        f"Deletion plan {plan.plan_id[:12]} for one data subject (PII kind {plan.column_kind}); "
        f"subject hash {plan.subject_hash[:16]}… (salted: the value itself is never stored)",
        format_note(plan.column_kind),
    ]
    statements = plan.statements
    if not statements and not plan.steps:
        lines.append("no table in the store holds this PII kind.")
    location = None
    for number, step in enumerate(statements, start=1):
        if step.location != location:
            location = step.location
            lines.append(f"\n{location} ({step.dialect})")
        estimate = "unknown" if step.estimated_rows is None else f"≈ {step.estimated_rows:g}"
        lines.append(f"  {number:>2}. {step.qualified_name} ({step.action}): {step.reason}")
        lines.append(f"      rows {estimate} ({step.estimate_note})")
        lines.append(f"      {step.masked};")
    others = {
        CLEARED: "views cleared by deleting the base rows",
        REBUILD: "to re-run after the deletes",
        NOT_SUPPORTED: "not deletable from here",
    }
    for action, title in others.items():
        steps = [s for s in plan.steps if s.action == action]
        if steps:
            lines.append(f"\n{title}:")
            lines += [f"  {s.qualified_name}: {s.reason}" for s in steps]
    if plan.lookalikes:
        lines.append("\nnot covered (no PII hint):")
        lines += [f"  {x.dataset_name}.{x.table_name}.{x.column_name}: {x.reason}" for x in plan.lookalikes]
    if plan.packages:
        lines.append(
            "\nkept load packages (copies of loaded rows in pipeline working folders; the statements do not "
            "delete them):"
        )
    for group in plan.package_groups():
        first, last = group[0], group[-1]
        ids = first.load_id if len(group) == 1 else f"{first.load_id} … {last.load_id}"
        lines.append(
            f"  {first.pipeline_name}: {len(group)} {first.state} package(s) in {first.folder} "
            f"({first.machine}), load ids {ids}"
        )
        lines.append(f"      {first.advice}")
    count = sum(s.action in STATEMENT_ACTIONS for s in plan.steps)
    lines.append(
        f"\n{count} statements, about {plan.estimated_rows:g} rows (an estimate from metadata); "
        "statements show the value as a parameter, --sql/--json write it in."
    )
    return lines

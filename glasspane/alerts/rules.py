"""Evaluating rules over the pane store: each rule → findings, by the definitions the dashboard uses.

failed and late: the one health model (`pipeline_health.pipeline_health`); a `tables` scope keeps the
pipelines that load those tables (`pipeline_tables`, and the schemas their runs load). volume:
`health.volume_scores`, judging only loads newer than the ones judged before; a table matches while its
newest load in the window is anomalous (`pipeline_health.newest_anomalies`, what the Overview counts). schema and pii:
`schema_diff.diff_columns` between the newest version of each schema and the one the previous
evaluation saw; suspected PII by `pii.suspect`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import duckdb
import pandas as pd

from glasspane.alerts import reads as q
from glasspane.alerts.alert_log import rule_memories
from glasspane.alerts.model import FIRING, Finding, RuleMemory, RuleResult
from glasspane.alerts.rule_config import AlertRule, duration_text
from glasspane.dlt_meta import first_line, redact
from glasspane.formatting import thousands
from glasspane.governance.pii import suspect
from glasspane.health import LATE_FACTOR, volume_scores
from glasspane.links import link
from glasspane.pipeline_health import TABLE_KEY, newest_anomalies, newest_loads, pipeline_health
from glasspane.queries.schema import version_columns
from glasspane.schema_diff import Change, diff_columns

MAX_LISTED = 12  # changes listed in one alert; the rest are counted
LATE_ARRIVAL = dt.timedelta(days=1)
KIND_TITLES = {  # a volume alert's title after "<table> in <pipeline>: ", by kind
    "zero": "no rows in a load, expected {expected}",
    "drop": "{rows} rows in a load, expected {expected}",
    "spike": "{rows} rows in a load, expected {expected}",
    "double": "{rows} rows in a load, twice the expected {expected}: loaded twice?",
    "flatline": "the same {rows} rows in load after load, where counts normally vary",
}  # loads collected this long after newer ones were judged are still judged


def when(moment: Any) -> str:
    """'2026-05-01 10:00 UTC'; '—' when unknown."""
    if moment is None or pd.isna(moment):
        return "—"
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def _text(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else str(value)


def _scope(con: duckdb.DuckDBPyConnection, rule: AlertRule) -> tuple[str, ...] | None:
    """The locations a `sources` scope covers; None when the rule is not scoped to sources."""
    return tuple(q.scope_locations(con, rule.sources)) if rule.sources else None


T = TypeVar("T")
_shared: ContextVar[dict[tuple, Any] | None] = ContextVar("shared_rule_reads", default=None)


@contextlib.contextmanager
def shared_reads() -> Iterator[None]:
    """Rules evaluated inside share what they read: a question two rules ask (every pipeline's health,
    the newest schema versions) is answered once. Opened by a pass over the rules, closed after it."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _read(function: Callable[..., T], con: duckdb.DuckDBPyConnection, *args: Any) -> T:
    """`function(con, *args)`, answered once within `shared_reads`: callers must not change the answer."""
    memo = _shared.get()
    if memo is None:
        return function(con, *args)
    key = (function, id(con), args)
    if key not in memo:
        memo[key] = function(con, *args)
    return memo[key]


def _in_tables(rule: AlertRule, table: str) -> bool:
    """A `tables` scope covers the named tables and their nested child tables."""
    return not rule.tables or any(table == t or table.startswith(t + "__") for t in rule.tables)


def _pipeline_facts(row: Any) -> list[tuple[str, str]]:
    return [
        ("Pipeline", _text(row.pipeline_name)),
        ("Dataset", _text(row.dataset_name)),
        ("Location", _text(row.location)),
        ("Runs in", _text(row.environment)),
    ]


def _table_pipelines(con: duckdb.DuckDBPyConnection, rule: AlertRule) -> set[tuple[str, str, str]]:
    """(location, dataset, pipeline) of each pipeline that loads a table in the rule's `tables` scope."""
    loaded = q.tables_pipelines_load(con)
    return {(location, dataset, pipeline) for location, dataset, pipeline, table in loaded if _in_tables(rule, table)}


def _health(con: duckdb.DuckDBPyConnection, rule: AlertRule, factor: float, max_age_s: float | None) -> pd.DataFrame:
    """Each pipeline in the rule's scope, its health and last run; a `tables` scope keeps those loading them."""
    locations = _scope(con, rule)
    if locations == ():
        return pd.DataFrame()
    health = _read(pipeline_health, con, factor, max_age_s, rule.anomaly, rule.pipelines, locations or ())
    if not rule.tables:
        return health
    covered = _table_pipelines(con, rule)
    keys = zip(health["location"], health["dataset_name"], health["pipeline_name"], strict=True)
    return health.loc[[key in covered for key in keys]]


def _pipeline_key(row: Any) -> str:
    return f"{row.location}|{row.dataset_name}|{row.pipeline_name}"


def _reported(memory: RuleMemory, row: Any, matching: bool) -> bool:
    """Whether a stateful rule reports this pipeline: when it matches, or stopped matching while its alert
    fires (the resolution). Any other is a quiet subject; describing it (facts, links) for 1,000
    pipelines cost most of an evaluation."""
    state = memory.states.get(_pipeline_key(row))
    return matching or (state is not None and state.status == FIRING)


def _pipeline_finding(
    row: Any,
    matching: bool,
    title: str,
    facts: list[tuple[str, str]],
    base_url: str,
    at: Any,
    detail: str | None = None,
) -> Finding:
    """A finding about one pipeline's health (the failed and late rules), linked to its runs."""
    return Finding(
        subject_key=_pipeline_key(row),
        subject=row.pipeline_name,
        matching=matching,
        title=title,
        facts=tuple(facts),
        detail=detail,
        link=link("runs", base_url, pipeline=row.pipeline_name, run=row.last_run_key),
        at=at if at is not None and not pd.isna(at) else None,
        pipeline_name=row.pipeline_name,
        dataset_name=row.dataset_name,
        location=row.location,
    )


def failed_rule(con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, base_url: str) -> RuleResult:
    """A pipeline is failing while its newest run failed."""
    result = RuleResult(complete=True)
    for row in _health(con, rule, LATE_FACTOR, None).itertuples(index=False):
        failing = row.health == "failing"
        if not _reported(memory, row, failing):
            continue
        error = first_line(redact(row.error if failing and isinstance(row.error, str) else None, limit=500))
        if failing:
            step = f" in the {row.failed_step} step" if isinstance(row.failed_step, str) else ""
            title = f"{row.pipeline_name} failed{step}"
            facts = [
                *_pipeline_facts(row),
                ("Failed step", _text(row.failed_step)),
                ("Run started", when(row.run_started_at)),
            ]
        else:
            title = f"{row.pipeline_name} ran without failing again"
            facts = [*_pipeline_facts(row), ("Last run", when(row.last_run_at)), ("Status", _text(row.last_status))]
        at = row.run_started_at if failing else None
        result.findings.append(_pipeline_finding(row, failing, title, facts, base_url, at, detail=error))
    return result


def late_rule(con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, base_url: str) -> RuleResult:
    """A pipeline is late with no successful load for `factor` × its cadence, or for `max_age`."""
    result = RuleResult(complete=True)
    for row in _health(con, rule, rule.factor, rule.max_age_s).itertuples(index=False):
        late = row.health == "late"
        if not _reported(memory, row, late):
            continue
        if rule.max_age_s is not None:
            expected = f"within {duration_text(rule.max_age_s)}"
        else:
            cadence = duration_text(row.cadence_s) if not pd.isna(row.cadence_s) else "unknown"
            expected = f"every {cadence} (late after {rule.factor:g} ×)"
        if late:
            age = (pd.Timestamp.now(tz="UTC") - pd.Timestamp(row.last_success_at)).total_seconds()
            title = f"{row.pipeline_name} is late: no successful load for {duration_text(age)}"
        elif row.health == "failing":
            title = f"{row.pipeline_name} is no longer late: it ran again, but failed"
        else:
            title = f"{row.pipeline_name} is on time again"
        facts = [
            *_pipeline_facts(row),
            ("Last success", when(row.last_success_at)),
            ("Expected", expected),
            ("Last run", f"{when(row.last_run_at)}, {_text(row.last_status)}"),
        ]
        result.findings.append(_pipeline_finding(row, late, title, facts, base_url, row.last_success_at))
    return result


def _volume_scope(con: duckdb.DuckDBPyConnection, rule: AlertRule, scores: pd.DataFrame) -> pd.DataFrame:
    """The scored loads of tables in the rule's `tables` scope, each with its subject key."""
    scores = scores[[_in_tables(rule, t) for t in scores["table_name"]]]
    return scores.assign(subject_key=scores[TABLE_KEY].astype(str).agg("|".join, axis=1) if len(scores) else "")


def _volume_finding(row: Any, base_url: str) -> Finding:
    """The finding for one scored load of one table: its kind, what it was compared with, and a link
    to the load on Trends (where a person can mark it expected or a new normal)."""
    loaded_at = pd.Timestamp(row.loaded_at)
    expected = "—" if pd.isna(row.baseline) else f"about {thousands(row.baseline)}"
    band = "—" if pd.isna(row.lower) else f"{thousands(row.lower)} – {thousands(row.upper)}"
    rows = thousands(row.row_count)
    if row.anomalous:
        kind = KIND_TITLES.get(row.kind, KIND_TITLES["drop"])
        title = f"{row.table_name} in {row.pipeline_name}: " + kind.format(rows=rows, expected=expected)
    elif row.kind == "new normal":
        title = f"{row.table_name} in {row.pipeline_name} settled at a new level: {rows} rows"
    else:
        title = f"{row.table_name} in {row.pipeline_name} is back to normal: {rows} rows"
    facts = (
        ("Pipeline", row.pipeline_name),
        ("Table", row.table_name),
        ("Rows in this load", thousands(row.row_count)),
        ("Expected", expected),
        ("Normal range", band),
        ("Kind", _text(row.kind)),
        ("Compared with", _text(row.season)),
        ("Robust z", "—" if pd.isna(row.robust_z) else f"{row.robust_z:.1f}"),
        ("Loaded at", when(loaded_at)),
        ("Load id", str(row.load_id)),
        ("Dataset", row.dataset_name),
        ("Location", row.location),
    )
    trends = {"pipeline": row.pipeline_name, "table": row.table_name, "location": row.location, "load": row.load_id}
    return Finding(
        subject_key=row.subject_key,
        subject=f"{row.pipeline_name}.{row.table_name}",
        matching=bool(row.anomalous),
        title=title,
        facts=facts,
        link=link("trends", base_url, **{k: str(v) for k, v in trends.items()}),
        at=loaded_at.to_pydatetime(),
        fingerprint=loaded_at.isoformat(),
        pipeline_name=row.pipeline_name,
        dataset_name=row.dataset_name,
        location=row.location,
        table_name=row.table_name,
    )


def volume_rule(con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, base_url: str) -> RuleResult:
    """A table's load is anomalous by the documented rule; each load is judged once, in order.

    The first evaluation judges each table by its newest load in the window (`pipeline_health.newest_loads`).
    """
    result = RuleResult()
    locations = _scope(con, rule)
    if locations == ():
        return result
    now = pd.Timestamp.now(tz="UTC")
    judged = {key: pd.Timestamp(s.fingerprint) for key, s in memory.states.items() if s.fingerprint}
    first = not memory.evaluated_before
    if first:
        scores = newest_loads(con, rule.anomaly, rule.pipelines, locations or (), now.to_pydatetime())
    else:
        since = now - pd.Timedelta(days=rule.anomaly.window_days)
        if judged:
            since = max(since, max(judged.values()) - LATE_ARRIVAL)
        scores = volume_scores(con, rule.anomaly, rule.pipelines, (), locations or (), since.to_pydatetime())
    for row in _volume_scope(con, rule, scores).itertuples(index=False):
        if not first and row.subject_key in judged and pd.Timestamp(row.loaded_at) <= judged[row.subject_key]:
            continue
        result.findings.append(_volume_finding(row, base_url))
    window_start = now - pd.Timedelta(days=rule.anomaly.window_days)
    newly_judged = {f.subject_key for f in result.findings}
    for key, state in memory.states.items():  # as the health model: no load in the window, nothing anomalous
        if state.status == "firing" and key not in newly_judged and key in judged and judged[key] < window_start:
            result.findings.append(_aged_out(key, judged[key], rule, base_url))
    return result


def _aged_out(subject_key: str, loaded_at: pd.Timestamp, rule: AlertRule, base_url: str) -> Finding:
    """A table firing for a load that has left the window, with no newer load: it matches no more."""
    location, dataset, pipeline, table = subject_key.split("|", 3)
    return Finding(
        subject_key=subject_key,
        subject=f"{pipeline}.{table}",
        matching=False,
        title=f"{table} in {pipeline}: no load in the last {rule.anomaly.window_days} days, so no anomaly now",
        facts=(
            ("Pipeline", pipeline),
            ("Table", table),
            ("Last load judged", when(loaded_at)),
            ("Dataset", dataset),
            ("Location", location),
        ),
        link=link("trends", base_url, pipeline=pipeline, table=table),
        at=loaded_at.to_pydatetime(),
        fingerprint=loaded_at.isoformat(),
        pipeline_name=pipeline,
        dataset_name=dataset,
        location=location,
        table_name=table,
    )


def volume_matches(con: duckdb.DuckDBPyConnection, rule: AlertRule, base_url: str) -> list[Finding]:
    """The tables in the rule's scope whose newest load in the window is anomalous: what the rule matches now."""
    locations = _scope(con, rule)
    if locations == ():
        return []
    anomalies = newest_anomalies(con, rule.anomaly, rule.pipelines, locations or ())
    return [_volume_finding(row, base_url) for row in _volume_scope(con, rule, anomalies).itertuples(index=False)]


def _schema_changes(
    con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, result: RuleResult
) -> list[tuple[Any, str, list[Change]]]:
    """(newest version row, subject key, changes in scope) for each schema whose newest version is new."""
    locations = _scope(con, rule)
    if locations == ():
        return []
    changed = []
    for row in _read(q.newest_schema_versions, con, locations or ()).itertuples(index=False):
        if rule.pipelines and not set(rule.pipelines) & set(row.pipelines):
            continue
        key = f"{row.location}|{row.dataset_name}|{row.schema_name}"
        state = memory.states.get(key)
        seen = state.fingerprint if state else None
        if seen == row.version_hash:
            continue
        result.fingerprints[key] = row.version_hash
        if not memory.evaluated_before:
            continue  # the first evaluation takes today's schemas as the baseline
        new = version_columns(con, row.location, row.dataset_name, row.schema_name, row.version_hash)
        if seen is None:  # a schema seen for the first time: everything in it is new
            old = new.iloc[0:0]
        elif q.has_version(con, row.location, row.dataset_name, row.schema_name, seen):
            old = version_columns(con, row.location, row.dataset_name, row.schema_name, seen)
        else:
            continue  # the version seen before is gone from the store: nothing to compare with
        changes = [c for c in diff_columns(old, new) if _in_tables(rule, c.table_name)]
        if changes:
            changed.append((row, key, changes))
    return changed


def _listing(lines: list[str]) -> str:
    shown = lines[:MAX_LISTED]
    more = len(lines) - len(shown)
    return "\n".join(f"• {line}" for line in shown) + (f"\n… and {more} more" if more else "")


def _schema_facts(row: Any) -> tuple[tuple[str, str], ...]:
    return (
        ("Dataset", row.dataset_name),
        ("Schema", row.schema_name),
        ("Version", _text(row.version)),
        ("Changed at", when(row.inserted_at)),
        ("Location", row.location),
        ("Loaded by", ", ".join(row.pipelines) or "—"),
    )


def _schema_finding(row: Any, key: str, subject: str, title: str, lines: list[str], page: str) -> Finding:
    """A finding about one new schema version (the schema and pii rules): its facts, listing and page."""
    return Finding(
        subject_key=key,
        subject=subject,
        matching=True,
        title=title,
        facts=_schema_facts(row),
        detail=_listing(lines),
        link=page,
        at=row.inserted_at if not pd.isna(row.inserted_at) else None,
        fingerprint=row.version_hash,
        dataset_name=row.dataset_name,
        location=row.location,
        pipeline_name=row.pipelines[0] if len(row.pipelines) == 1 else None,
    )


def schema_rule(con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, base_url: str) -> RuleResult:
    """Tables or columns added, removed or retyped since the version the previous evaluation saw."""
    result = RuleResult()
    for row, key, changes in _schema_changes(con, rule, memory, result):
        added = {c.table_name for c in changes if c.change == "table_added"}
        removed = {c.table_name for c in changes if c.change == "table_removed"}
        lines = [f"table added: {t}" for t in sorted(added)]
        lines += [f"table removed: {t}" for t in sorted(removed)]
        counts = {"added": 0, "removed": 0, "retyped": 0}
        for c in changes:
            if c.change == "column_added" and c.table_name not in added:
                lines.append(f"column added: {c.table_name}.{c.column_name} ({c.after})")
                counts["added"] += 1
            elif c.change == "column_removed" and c.table_name not in removed:
                lines.append(f"column removed: {c.table_name}.{c.column_name}")
                counts["removed"] += 1
            elif c.change == "type_changed":
                lines.append(f"column retyped: {c.table_name}.{c.column_name} {c.before} → {c.after}")
                counts["retyped"] += 1
        if not lines:
            continue  # only hints changed
        parts = [f"{len(added)} tables added"] if added else []
        parts += [f"{len(removed)} tables removed"] if removed else []
        parts += [f"{n} columns {what}" for what, n in counts.items() if n]
        subject = f"{row.dataset_name}.{row.schema_name}" if row.schema_name != row.dataset_name else row.dataset_name
        title = f"Schema of {row.dataset_name} changed: {', '.join(parts)}"
        result.findings.append(
            _schema_finding(row, key, subject, title, lines, link("schema", base_url, dataset=row.dataset_name))
        )
    return result


def pii_rule(con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, base_url: str) -> RuleResult:
    """A new column that carries a PII hint or a person's confirmation, or a new column that looks personal
    and carries neither (a column a person decided is not PII is not suspected)."""
    result = RuleResult()
    for row, key, changes in _schema_changes(con, rule, memory, result):
        decided = q.pii_decisions_in(con, row.location, row.dataset_name)
        tagged, suspected = [], []
        for c in changes:
            if c.change != "column_added":
                continue
            decision, decided_kind = decided.get((c.table_name, c.column_name), (None, None))
            if c.pii or decision == "confirmed":
                kind = c.pii_kind if c.pii else decided_kind
                how = "tagged PII" if c.pii else "confirmed PII"
                tagged.append(f"{c.table_name}.{c.column_name}: {how}" + (f" ({kind})" if kind else ""))
            elif decision == "not_pii":
                continue
            elif found := suspect(c.column_name or "", c.table_name):
                suspected.append(
                    f"{c.table_name}.{c.column_name}: looks like {found.kind} ({found.reason}), no PII hint"
                )
        if not tagged and not suspected:
            continue
        parts = [f"{len(tagged)} tagged PII columns"] if tagged else []
        parts += [f"{len(suspected)} suspected PII columns without a hint"] if suspected else []
        title = f"New personal data in {row.dataset_name}: {', '.join(parts)}"
        page = link("pii", base_url, dataset=row.dataset_name)
        result.findings.append(_schema_finding(row, key, row.dataset_name, title, suspected + tagged, page))
    return result


RULES: dict[str, Callable[[duckdb.DuckDBPyConnection, AlertRule, RuleMemory, str], RuleResult]] = {
    "failed": failed_rule,
    "late": late_rule,
    "volume": volume_rule,
    "schema": schema_rule,
    "pii": pii_rule,
}


def evaluate_rule(con: duckdb.DuckDBPyConnection, rule: AlertRule, memory: RuleMemory, base_url: str) -> RuleResult:
    """What one rule finds in the store now, given what earlier evaluations saw."""
    return RULES[rule.rule](con, rule, memory, base_url)


def current_matches(con: duckdb.DuckDBPyConnection, rules: tuple[AlertRule, ...], base_url: str) -> pd.DataFrame:
    """What each rule matches now, as an evaluation at this moment would: failing and late pipelines and
    the tables whose newest load is anomalous (the one health model), and the schema and PII changes the
    next evaluation would report. Reads only."""
    memories = rule_memories(con, [r.name for r in rules])
    columns = ["rule_name", "subject", "title", "at", "link"]
    frames = []
    with shared_reads():
        for rule in rules:
            if rule.rule == "volume":
                found = volume_matches(con, rule, base_url)
            else:
                found = evaluate_rule(con, rule, memories[rule.name], base_url).findings
            rows = [(rule.name, f.subject, f.title, f.at, f.link) for f in found if f.matching]
            frames.append(pd.DataFrame(rows, columns=columns))
    return pd.concat([f for f in frames if not f.empty] or [pd.DataFrame(columns=columns)], ignore_index=True)

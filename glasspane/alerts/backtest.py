"""How many alerts the rules would have sent, before anyone switches them on (`alerts --backtest 90d`
and `alerts --from-csv FILE` on the command line).

--backtest replays each configured rule over the stored history of the last PERIOD: volume by
the volume rule (an alert is a load that starts an anomalous run), failed by runs that failed
after one that did not, late by gaps between successful loads longer than the rule allows
(factor × the pipeline's median gap, or max_age), schema by new schema versions. It prints the
alerts per rule and per pipeline, and the noisiest series. --from-csv scores series a user
brings (columns series, loaded_at, row_count) by the volume rule; --json prints every point.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from glasspane.alerts import reads as q
from glasspane.alerts.rule_config import AlertConfig, AlertRule
from glasspane.anomalies import AnomalyRule, score_series
from glasspane.config import ConfigError
from glasspane.health import volume_scores

PERIOD = re.compile(r"^(\d+(?:\.\d+)?)\s*([hdw])$")
UNIT_DAYS = {"h": 1 / 24, "d": 1.0, "w": 7.0}
NOISIEST = 10
CSV_COLUMNS = ("series", "loaded_at", "row_count")


def period_days(text: str) -> float:
    """Days in a period like '90d', '12h' or '2w'."""
    match = PERIOD.match(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--backtest: a period like 90d, 12h or 2w (got {text!r})")
    return float(match.group(1)) * UNIT_DAYS[match.group(2)]


@dataclass
class RuleBacktest:
    """What one rule would have sent: alerts in all, per pipeline, and per series (volume)."""

    name: str
    rule: str
    alerts: int = 0
    per_pipeline: Counter = field(default_factory=Counter)
    per_series: Counter = field(default_factory=Counter)
    replayed: bool = True  # pii is not: it needs the columns each schema version added


def backtest_store(con: duckdb.DuckDBPyConnection, config: AlertConfig, days: float) -> list[RuleBacktest]:
    """Replay each rule of `config` over the store's last `days` days."""
    since = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=days)
    results = []
    for rule in config.rules:
        result = RuleBacktest(rule.name, rule.rule)
        locations = tuple(q.scope_locations(con, rule.sources)) if rule.sources else ()
        if rule.sources and not locations:
            results.append(result)
            continue
        if rule.rule == "volume":
            _volume(con, rule, locations, since, result)
        elif rule.rule in ("failed", "late"):
            _runs(con, rule, locations, since, result)
        elif rule.rule == "schema":
            _schema(con, rule, locations, since, result)
        else:
            result.replayed = False
        result.alerts = sum(result.per_pipeline.values())
        results.append(result)
    return results


def _in_tables(rule: AlertRule, table: str) -> bool:
    return not rule.tables or any(table == t or table.startswith(t + "__") for t in rule.tables)


def _volume(
    con: duckdb.DuckDBPyConnection,
    rule: AlertRule,
    locations: tuple[str, ...],
    since: pd.Timestamp,
    result: RuleBacktest,
) -> None:
    scores = volume_scores(con, rule.anomaly, rule.pipelines, (), locations, since.to_pydatetime())
    covered = np.array([_in_tables(rule, t) for t in scores["table_name"]], dtype=bool)
    alerts = scores[scores["onset"].astype(bool).to_numpy() & covered]
    for row in alerts.itertuples(index=False):
        result.per_pipeline[row.pipeline_name] += 1
        result.per_series[f"{row.pipeline_name}.{row.table_name} ({row.location})"] += 1


def _runs(
    con: duckdb.DuckDBPyConnection,
    rule: AlertRule,
    locations: tuple[str, ...],
    since: pd.Timestamp,
    result: RuleBacktest,
) -> None:
    """failed: a failed run after one that was not; late: a gap between successes longer than allowed."""
    runs = q.run_history(con, rule.pipelines, locations)
    for (_, _, pipeline), part in runs.groupby(["location", "dataset_name", "pipeline_name"], sort=False):
        if rule.rule == "failed":
            failed = part["status"].eq("failed")
            onsets = failed & ~failed.shift(fill_value=False) & (part["started_at"] >= since)
            result.per_pipeline[pipeline] += int(onsets.sum())
            continue
        loaded = part.loc[part["status"].eq("completed"), "started_at"].reset_index(drop=True)
        gaps = loaded.diff().dt.total_seconds()
        late = 0
        for i in range(1, len(loaded)):
            if loaded[i] < since:
                continue
            learned = _cadence(loaded[:i], gaps[1:i])
            allowed = rule.max_age_s if rule.max_age_s is not None else rule.factor * learned
            late += bool(gaps[i] > allowed)
        result.per_pipeline[pipeline] += late


def _cadence(loaded: pd.Series, gaps: pd.Series) -> float:
    """The gap to expect after the newest of `loaded`, as the store learns it (`summaries`): the
    median of the last 20 gaps, or of those following a load on the newest's weekday if longer."""
    recent, after = gaps.iloc[-20:], loaded.iloc[-21:-1].dt.day_of_week.to_numpy()
    same = recent[after == loaded.iloc[-1].day_of_week]
    return max(recent.median(), same.median() if len(same) >= 2 else 0.0) if len(recent) else float("nan")


def _schema(
    con: duckdb.DuckDBPyConnection,
    rule: AlertRule,
    locations: tuple[str, ...],
    since: pd.Timestamp,
    result: RuleBacktest,
) -> None:
    versions = q.schema_changes_since(con, since.to_pydatetime(), locations)
    for dataset, changes in versions:
        result.per_pipeline[dataset] += max(int(changes), 0)


def format_backtest(results: list[RuleBacktest], days: float) -> str:
    """Alerts per rule, then per pipeline, then the noisiest series."""
    lines = [f"backtest over the last {days:g} days: alerts each rule would have sent"]
    for r in results:
        lines.append(f"{r.name} ({r.rule}): " + (f"{r.alerts} alerts" if r.replayed else "not replayed"))
        for pipeline, count in r.per_pipeline.most_common():
            if count:
                lines.append(f"  {pipeline}: {count}")
        noisy = [(series, count) for series, count in r.per_series.most_common(NOISIEST) if count]
        if noisy:
            lines.append("  noisiest series:")
            lines += [f"    {series}: {count}" for series, count in noisy]
    if not results:
        lines.append("no alert rules configured")
    return "\n".join(lines)


def backtest_json(results: list[RuleBacktest]) -> str:
    """Alerts per rule and pipeline, and the noisiest series, as JSON."""
    rows = [
        {
            "rule": r.name,
            "kind": r.rule,
            "alerts": r.alerts,
            "per_pipeline": dict(r.per_pipeline),
            "noisiest": dict(r.per_series.most_common(NOISIEST)),
        }
        for r in results
    ]
    return json.dumps(rows, indent=1)


def read_series_csv(path: Path) -> pd.DataFrame:
    """The series of a CSV with columns series, loaded_at, row_count (UTC; each point's file `line`), sorted by
    series and time; a clear error for bad input."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(f"{path}: missing column {', '.join(missing)} (need {', '.join(CSV_COLUMNS)})")
            rows = list(reader)
    except OSError as ex:
        raise ConfigError(f"{path}: cannot read: {ex.strerror or ex}") from ex
    except UnicodeDecodeError as ex:
        raise ConfigError(f"{path}: not UTF-8 text") from ex
    frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
    loaded_at = pd.to_datetime(frame["loaded_at"], utc=True, errors="coerce", format="mixed")
    counts = pd.to_numeric(frame["row_count"], errors="coerce")
    not_counts = counts.isna() | (counts < 0) | (counts % 1 != 0)
    for name, bad in (("loaded_at: not a time", loaded_at.isna()), ("row_count: not a whole number ≥ 0", not_counts)):
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2  # the header is line 1
            raise ConfigError(f"{path}: line {line}: {name}")
    if frame.empty:
        raise ConfigError(f"{path}: no rows")
    frame = frame.assign(loaded_at=loaded_at, row_count=counts.astype("int64"), line=np.arange(len(frame)) + 2)
    return frame.sort_values(["series", "loaded_at"], kind="stable").reset_index(drop=True)


def score_csv(frame: pd.DataFrame, rule: AnomalyRule) -> pd.DataFrame:
    """Every point of every series with its verdict."""
    parts = []
    for _, series in frame.groupby("series", sort=False):
        verdicts = score_series(series["loaded_at"], series["row_count"], rule)
        parts.append(series.join(verdicts.set_axis(series.index)))
    return pd.concat(parts)


def format_csv_scores(scored: pd.DataFrame, as_json: bool) -> str:
    """Per series: loads and alerts (an anomalous load after one that was not); with `as_json` every
    point, in the file's order."""
    if as_json:
        points = [
            {
                "line": int(row.line),
                "series": row.series,
                "loaded_at": row.loaded_at.isoformat(),
                "row_count": int(row.row_count),
                "anomalous": bool(row.anomalous),
                "alert": bool(row.onset),
                "kind": row.kind if row.anomalous else None,
                "baseline": _number(row.baseline),
                "lower": _number(row.lower),
                "upper": _number(row.upper),
            }
            for row in scored.sort_values("line").itertuples(index=False)
        ]
        return json.dumps(points, indent=1)
    summary = scored.groupby("series", sort=False).agg(loads=("onset", "size"), alerts=("onset", "sum"))
    lines = [f"{series}: {int(r.loads)} loads, {int(r.alerts)} alerts" for series, r in summary.iterrows()]
    lines.append(f"{len(summary)} series, {int(summary['loads'].sum())} loads, {int(summary['alerts'].sum())} alerts")
    return "\n".join(lines)


def _number(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 3)


def volume_rule_of(config: AlertConfig | None) -> AnomalyRule:
    """The first configured volume rule's settings, or the defaults."""
    for rule in config.rules if config else ():
        if rule.rule == "volume":
            return rule.anomaly
    return AnomalyRule()

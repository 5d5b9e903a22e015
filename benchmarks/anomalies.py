"""How accurate the volume rule is: `python -m benchmarks.anomalies [--seed S] [--series N]`.

Generates N labelled series of rows per load (seeded, so the figures repeat), scores them with
Glasspane's rule (`glasspane.anomalies`) and with Elementary's default volume test re-implemented
from its documentation (mean and standard deviation of the loads in a 14-day training window,
at least 7 of them, anomalous when |z| ≥ 3), and prints per anomaly kind precision, recall and
F1, and false alarms per 1,000 clean loads, overall and on the seasonal series.

The generator (each series draws every choice from the seed):
- cadence: daily (one load a day at a fixed minute, a few minutes' jitter) for 150 days, or
  hourly for 75 days; some daily loads skip a day now and then (a late run the next day);
- size: 200 to 3 million rows per load (log-uniform), counts drawn around it (Poisson);
- shape: flat; weekly (weekends at 20–80 %); business-day (0 rows at weekends); a month-end
  peak (2–5 × on the last business day, with weekly or business-day shapes or alone); for
  hourly series an hour-of-day cycle, a nightly batch (one hour loads 10–50 × the others,
  or all of it with 0 the rest of the day), business hours (evenings and weekends at 10–40 %);
- trend: none, or growth or decline of −1 % to +2 % a day;
- noise: low (2 %), medium (7 %) or high (15 %) multiplicative; one series in eight is a
  volatile small table (30 to 300 rows, high noise);
- legitimate changes (labelled clean): holidays (01-01, 12-24/25/26/31: business-day series
  load 0, others 30–70 %); a level shift in one of three series (× 0.35–0.6 or × 1.6–3,
  lasting; its first load is a labelled `level_shift`, to be alerted once);
- injected anomalies after a 6-week warm-up, on loads that expect at least 20 rows, at least
  3 loads apart: zero loads, drops (50–95 % fewer rows), spikes (3–10 ×), double loads (the
  same data loaded twice: 2 × the load's rows) and flatlines (the count stuck for 6–12 loads).

Scoring counts alerts, not flagged loads: an alert is a flagged load whose previous load was
not flagged (a run of anomalous loads is one alert, as Slack gets it). Glasspane's verdicts come
from the function `alerts --from-csv` calls (`backtest.score_csv`), its alerts are the `alert`
points of that command's `--json` (`onset`), so a user's file is scored as here. An event is found when
an alert starts inside it (a flatline's loads, a level shift's first 5); any other alert is a
false alarm, attributed to the kind the rule named. Loads in the warm-up are not scored.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from glasspane.alerts.backtest import score_csv
from glasspane.anomalies import DEFAULT_RULE

KINDS = ("zero", "drop", "spike", "double", "flatline", "level_shift")
NOISE = {"low": 0.02, "medium": 0.07, "high": 0.15}
HOLIDAYS = ("01-01", "12-24", "12-25", "12-26", "12-31")
WARM_UP_DAYS = 42
SHIFT_SPAN = 5  # a level shift is found when alerted within its first loads


@dataclass
class Series:
    """One labelled series: when each load happened, its rows, and the anomalies in it."""

    name: str
    loaded_at: pd.DatetimeIndex
    rows: np.ndarray
    events: list[tuple[str, int, int]]  # kind, first load, last load (inclusive)
    scored_from: int
    seasonal: bool
    tags: dict[str, str] = field(default_factory=dict)


def _times(rng: np.random.Generator, hourly: bool) -> pd.DatetimeIndex:
    start = pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=int(rng.integers(0, 365)))
    if hourly:
        steps = pd.date_range(start, periods=75 * 24, freq="h")
        jitter = rng.integers(0, 300, len(steps))
        return steps + pd.Timedelta(minutes=int(rng.integers(0, 50))) + pd.to_timedelta(jitter, unit="s")
    days = pd.date_range(start, periods=150, freq="D")
    skipped = rng.random(len(days)) < (0.03 if rng.random() < 0.3 else 0.0)
    days = days[~skipped]
    jitter = rng.integers(0, 600, len(days))
    return (
        days
        + pd.Timedelta(hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60)))
        + pd.to_timedelta(jitter, unit="s")
    )


def _last_business_day(at: pd.DatetimeIndex) -> np.ndarray:
    end = at.normalize() + pd.offsets.MonthEnd(0)
    last = end - pd.to_timedelta(np.maximum(end.day_of_week - 4, 0), unit="D")
    return np.asarray(at.normalize() == last.normalize())


def make_series(rng: np.random.Generator, name: str) -> Series:
    """One series with a shape, trend, noise, legitimate changes and injected anomalies drawn from `rng`."""
    hourly = rng.random() < 0.35
    at = _times(rng, hourly)
    n = len(at)
    days = np.asarray((at - at[0]).total_seconds() / 86_400)
    weekend = np.asarray(at.day_of_week >= 5)
    volatile = rng.random() < 0.12
    level = (
        float(np.exp(rng.uniform(np.log(30), np.log(300))))
        if volatile
        else float(np.exp(rng.uniform(np.log(200), np.log(3e6))))
    )
    noise_name = "high" if volatile else str(rng.choice(list(NOISE)))
    shape = np.ones(n)
    shapes = ["flat", "weekly", "business-day", "month-end"] + (
        ["hour cycle", "nightly", "business hours"] if hourly else []
    )
    kind = str(rng.choice(shapes))
    business = False
    if kind == "weekly":
        shape[weekend] = rng.uniform(0.2, 0.8)
    elif kind == "business-day":
        business = True
    elif kind == "month-end":
        if rng.random() < 0.5:
            business = True
        elif rng.random() < 0.5:
            shape[weekend] = rng.uniform(0.2, 0.8)
        shape[_last_business_day(at)] *= rng.uniform(2, 5)
    elif kind == "hour cycle":
        peak = rng.uniform(0, 24)
        shape *= np.exp(rng.uniform(0.3, 0.9) * np.cos(2 * np.pi * (np.asarray(at.hour) - peak) / 24))
    elif kind == "nightly":
        hour = int(rng.integers(0, 6))
        night = np.asarray(at.hour == hour)
        if rng.random() < 0.5:
            shape[night] *= rng.uniform(10, 50)
        else:
            shape[~night] = 0
    elif kind == "business hours":
        office = np.asarray((at.hour >= 8) & (at.hour < 18))
        shape[~office] *= rng.uniform(0.1, 0.4)
        shape[weekend] *= rng.uniform(0.1, 0.4)
    if business:
        shape[weekend] = 0
    trend = float(rng.choice([0.0, rng.uniform(-0.01, 0.02)], p=[0.6, 0.4]))
    expected = level * shape * np.exp(trend * days)
    holiday = np.isin(at.strftime("%m-%d"), HOLIDAYS)
    expected[holiday] *= 0.0 if business else rng.uniform(0.3, 0.7)
    scored_from = int(np.searchsorted(days, WARM_UP_DAYS))
    events: list[tuple[str, int, int]] = []
    if rng.random() < 1 / 3:
        step = int(rng.integers(scored_from + 10, n - 20 * (24 if hourly else 1)))
        while expected[step] < 20:
            step += 1
        factor = rng.uniform(0.35, 0.6) if rng.random() < 0.5 else rng.uniform(1.6, 3)
        expected[step:] *= factor
        events.append(("level_shift", step, step + SHIFT_SPAN - 1))
    rows = rng.poisson(expected * np.exp(rng.normal(0, NOISE[noise_name], n))).astype(np.int64)
    taken = np.zeros(n, dtype=bool)
    for event in events:
        taken[max(event[1] - 3, 0) : event[2] + 4] = True
    for _ in range(int(rng.poisson(3 if not hourly else 4))):
        what = str(rng.choice(KINDS[:5]))
        length = int(rng.integers(6, 13)) if what == "flatline" else 1
        for _attempt in range(50):
            i = int(rng.integers(scored_from, n - length))
            span = slice(max(i - 3, 0), i + length + 3)
            if not taken[span].any() and (expected[i : i + length] >= 20).all() and not holiday[i : i + length].any():
                break
        else:
            continue
        taken[span] = True
        if what == "zero":
            rows[i] = 0
        elif what == "drop":
            rows[i] = int(rows[i] * rng.uniform(0.05, 0.5))
        elif what == "spike":
            rows[i] = int(rows[i] * rng.uniform(3, 10))
        elif what == "double":
            rows[i] = 2 * rows[i]
        else:
            rows[i : i + length] = rows[i - 1]
        events.append((what, i, i + length - 1))
    seasonal = kind != "flat"
    tags = {"cadence": "hourly" if hourly else "daily", "shape": kind, "noise": noise_name, "trend": f"{trend:+.3f}"}
    return Series(name, at, rows, sorted(events, key=lambda e: e[1]), scored_from, seasonal, tags)


def generate(seed: int, count: int) -> list[Series]:
    """`count` labelled series from `seed`."""
    rng = np.random.default_rng(seed)
    return [make_series(rng, f"series_{k:03d}") for k in range(count)]


def elementary(series: Series, window_days: int = 14, sensitivity: float = 3.0, min_training: int = 7) -> pd.DataFrame:
    """Elementary's default volume test: z of a load against the mean and standard deviation of
    the loads in the 14 days before it (at least 7), anomalous when |z| ≥ 3."""
    counts = pd.Series(series.rows.astype(float), index=series.loaded_at)
    window = counts.rolling(f"{window_days}D", closed="left")
    mean, std, size = window.mean().to_numpy(), window.std().to_numpy(), window.count().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (series.rows - mean) / std
    flagged = (size >= min_training) & (std > 0) & (np.abs(z) >= sensitivity)
    kind = np.where(series.rows == 0, "zero", np.where(z > 0, "spike", "drop"))
    onset = flagged & ~np.concatenate(([False], flagged[:-1]))
    return pd.DataFrame({"anomalous": flagged, "onset": onset, "kind": np.where(flagged, kind, None)})


def glasspane(series: Series) -> pd.DataFrame:
    """Glasspane's volume rule on the series, as `alerts --from-csv` scores it."""
    frame = pd.DataFrame({"series": series.name, "loaded_at": series.loaded_at, "row_count": series.rows})
    return score_csv(frame, DEFAULT_RULE)


def tally(series: Series, verdicts: pd.DataFrame) -> tuple[dict[str, list[int]], int, int]:
    """Per kind [found, missed, false alarms]; clean loads scored; false alarms in all."""
    alerts = verdicts["onset"].to_numpy(dtype=bool)
    counts = {k: [0, 0, 0] for k in KINDS}
    inside = np.zeros(len(alerts), dtype=bool)
    for kind, first, last in series.events:
        inside[first : last + 1] = True
        counts[kind][0 if alerts[first : last + 1].any() else 1] += 1
    scored = np.arange(len(alerts)) >= series.scored_from
    false = alerts & ~inside & scored
    named = {"flatline": "flatline", "double": "double", "zero": "zero", "drop": "drop", "spike": "spike"}
    for i in np.nonzero(false)[0]:
        counts[named.get(str(verdicts["kind"].iat[i]), "spike")][2] += 1
    return counts, int((scored & ~inside).sum()), int(false.sum())


def summarise(all_series: list[Series], rule) -> dict:
    """Precision, recall, F1 per kind and overall, and false alarms per 1,000 clean loads."""
    totals = {k: [0, 0, 0] for k in KINDS}
    clean = false = 0
    for series in all_series:
        counts, c, f = tally(series, rule(series))
        for k in KINDS:
            totals[k] = [a + b for a, b in zip(totals[k], counts[k], strict=True)]
        clean, false = clean + c, false + f
    table = {k: _prf(*v) for k, v in totals.items()}
    overall = [sum(v[i] for v in totals.values()) for i in range(3)]
    table["all"] = _prf(*overall)
    return {"kinds": table, "clean": clean, "false_alarms": false, "per_1000": 1000 * false / max(clean, 1)}


def _prf(found: int, missed: int, false: int) -> dict:
    precision = found / (found + false) if found + false else float("nan")
    recall = found / (found + missed) if found + missed else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "events": found + missed,
        "found": found,
        "false": false,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def report(title: str, results: dict[str, dict]) -> str:
    """One table per subset: rows per kind, a column group per rule."""
    lines = [title, f"{'kind':<12}{'events':>7}  " + "".join(f"{name:>28}" for name in results)]
    lines.append(" " * 21 + "".join(f"{'precision recall    F1':>28}" for _ in results))
    for kind in (*KINDS, "all"):
        first = next(iter(results.values()))["kinds"][kind]
        cells = "".join(
            f"{r['kinds'][kind]['precision']:>14.2f}{r['kinds'][kind]['recall']:>7.2f}{r['kinds'][kind]['f1']:>7.2f}"
            for r in results.values()
        )
        lines.append(f"{kind:<12}{first['events']:>7}  {cells}")
    alarms = "".join(f"{r['per_1000']:>28.2f}" for r in results.values())
    lines.append(f"{'false alarms / 1,000 clean':<21}{alarms}")
    clean = next(iter(results.values()))["clean"]
    lines.append(f"({clean:,} clean loads scored)")
    return "\n".join(lines)


def goals(glasspane_all: dict, glasspane_seasonal: dict, elementary_seasonal: dict) -> str:
    """Glasspane against issue 17's goals. "Recall of at least 0.98 on zero loads and drops" is printed
    both ways it can be read: per kind, and over zero loads and drops together."""
    kinds = glasspane_all["kinds"]
    zero, drop = kinds["zero"], kinds["drop"]
    found, events = zero["found"] + drop["found"], zero["events"] + drop["events"]
    margin = glasspane_seasonal["kinds"]["all"]["f1"] - elementary_seasonal["kinds"]["all"]["f1"]

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    def recall(k: dict) -> str:
        return f"{k['recall']:.3f} ({k['found']}/{k['events']}, {verdict(k['recall'] >= 0.98)})"

    return "\n".join(
        [
            "Against issue 17's goals (Glasspane)",
            f"  F1 over all kinds >= 0.9: {kinds['all']['f1']:.3f} ({verdict(kinds['all']['f1'] >= 0.9)})",
            f"  false alarms per 1,000 clean loads <= 1: {glasspane_all['per_1000']:.2f} "
            f"({verdict(glasspane_all['per_1000'] <= 1)})",
            f"  recall >= 0.98, per kind: zero loads {recall(zero)}; drops of 50 % or more {recall(drop)}",
            f"  recall >= 0.98, zero loads and drops together: {found / events:.3f} ({found}/{events}, "
            f"{verdict(found / events >= 0.98)})",
            f"  seasonal F1 >= 0.2 above Elementary's default: {margin:+.2f} "
            f"({glasspane_seasonal['kinds']['all']['f1']:.2f} vs {elementary_seasonal['kinds']['all']['f1']:.2f}, "
            f"{verdict(margin >= 0.2)})",
        ]
    )


def write_csv(all_series: list[Series], path: Path) -> None:
    """The series as the backtest's CSV, with each load's label (the event it belongs to, if any)."""
    frames = []
    for s in all_series:
        label = np.full(len(s.rows), "", dtype=object)
        for kind, first, last in s.events:
            label[first : last + 1] = kind
        label[: s.scored_from] = "warm-up"
        frames.append(pd.DataFrame({"series": s.name, "loaded_at": s.loaded_at, "row_count": s.rows, "label": label}))
    pd.concat(frames).to_csv(path, index=False)


def main(argv: list[str] | None = None) -> int:
    """Generate, score with both rules, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--series", type=int, default=150)
    parser.add_argument(
        "--write-csv",
        metavar="FILE",
        help="also write the series (series, loaded_at, row_count, "
        "label) for `python -m collectors alerts --from-csv FILE`",
    )
    args = parser.parse_args(argv)
    series = generate(args.seed, args.series)
    if args.write_csv:
        write_csv(series, Path(args.write_csv))
    rules = {"Glasspane": glasspane, "Elementary default": elementary}
    verdicts = {name: {s.name: rule(s) for s in series} for name, rule in rules.items()}  # each series scored once
    seasonal = [s for s in series if s.seasonal]
    events = sum(len(s.events) for s in series)
    loads = sum(len(s.rows) for s in series)
    overall = {name: summarise(series, lambda s, v=v: v[s.name]) for name, v in verdicts.items()}
    seasons = {name: summarise(seasonal, lambda s, v=v: v[s.name]) for name, v in verdicts.items()}
    print(f"{len(series)} series (seed {args.seed}), {loads:,} loads, {events} labelled events\n")
    print(report("All series", overall))
    print()
    print(report(f"Seasonal series ({len(seasonal)})", seasons))
    print()
    print(goals(overall["Glasspane"], seasons["Glasspane"], seasons["Elementary default"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seasonal volume-anomaly detection for one series of loads (pure numpy/pandas, no store).

Each load's row count is judged, oldest first, against comparable earlier loads, in log space
(`y = log(1 + rows)`, so noise and changes are relative):

- **Baseline.** The loads of the preceding `season_days` (default 35), except those marked
  "expected", holidays, month-end peaks, stuck (flatline) loads, and anomalous loads of the last
  two days or of a run still going on; projected to now along their trend (the median slope
  between loads one week apart). They are grouped by the season that fits them: for sub-daily
  series the hour of the week, the hour of the day on weekdays or weekends, or the hour of the
  day; for daily series the weekday, or weekdays against weekends. A grouping is used only when
  its loads deviate from their group medians at least 10 % less than from the plain median, and
  for a load only when its group holds `min_season_loads` earlier loads; otherwise the next
  coarser one, down to the plain window (the median of the last `window_days`). The baseline is
  the median of the load's group, moved (unless empty) by the median distance of the loads with
  rows of the last `window_days` from their groups' medians: the seasons are learned from the
  whole history, the level from the recent loads, so a change the band let through (a lasting
  step too small to alert) is followed within days rather than weeks.
- **Noise.** The distance of each load from the median of the rest of its group, pooled (the
  plain window pools all `season_days`): √(π/2) × their mean once those beyond 3 × the MAD's
  estimate are left out; plus the uncertainty of a median of n loads (the group's, or the recent
  loads' when fewer) and the counting noise of small tables (1 / (rows + 1)).
- **Band.** baseline ± max(z × noise, log(1 + min_relative_change)); a load outside it (and at
  least `min_rows` rows away, with `min_history` earlier loads) is anomalous. A zero load is
  anomalous when the comparable loads hold no zero and expect rows.
- **Calendar.** The loads at the same place of the earlier months (same day of the month, days or
  business days before its end, within `month_days`; no holiday, zero, stuck load or one found
  below the place's level) recur there when the latest and most of them were off the same way (a
  month-end peak). A load outside the band is then not anomalous when off the same way by a
  similar amount; a load below their median level by the band (the series' noise, or theirs when
  larger) is a drop, even inside the everyday band when every earlier month (two at least) was off
  beyond it and no other place they share, which this load is not at, explains them (the 30th of
  months whose 30th was their last business day). A low load on a day in `holidays` is not
  anomalous.
- **Runs.** A run of anomalous loads in one direction at one level is one episode; a load nearer
  the run's level than the baseline keeps it going. An alert (the onset) is an anomalous load
  whose previous load was not anomalous, as the alert rule fires (ok → matching). After
  `adopt_after` such loads (once the history spans `window_days`) the level is adopted: earlier
  loads with rows move by the run's median offset (empty ones stay empty), so the learned seasons
  stay. A "new normal" mark adopts at once; an "expected" mark leaves the load out of every
  baseline. Zero and flatline runs are never adopted.
- **Kinds.** zero, drop, spike, double (about twice the baseline, or exactly twice a recent
  load), flatline (the same non-zero count `flatline_loads` times in a row where the series
  repeats a count less than `flatline_repeat_rate` of the time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAD_TO_SIGMA = 1.4826  # makes the MAD of normally distributed data comparable to a standard deviation
DAY_S = 86_400.0
SUB_DAILY_S = 6 * 3600.0
QUARANTINE_S = 2 * DAY_S  # how long an anomalous load stays out of the baselines
HOLIDAYS = ("01-01", "12-24", "12-25", "12-26", "12-31")  # days most organisations load less (MM-DD)
KINDS = ("zero", "drop", "spike", "double", "flatline")
MARKS = ("expected", "new normal")


@dataclass(frozen=True)
class AnomalyRule:
    """The documented volume anomaly rule and its defaults (see the module docstring)."""

    window_days: int = 14
    z_threshold: float = 4.2
    min_relative_change: float = 0.2
    min_history: int = 5
    season_days: int = 35
    min_season_loads: int = 3
    adopt_after: int = 5
    flatline_loads: int = 4
    flatline_repeat_rate: float = 0.05
    min_rows: int = 5
    month_days: int = 100
    holidays: tuple[str, ...] = HOLIDAYS


DEFAULT_RULE = AnomalyRule()


@dataclass
class _Model:
    """What one fit learned: per grouping, the group medians and sizes; the spread; the trend."""

    fitted_at: float
    slope: float  # per second, in log space
    groupings: list[tuple[str, dict[int, float], dict[int, int], float]]  # name, medians, sizes, spread
    history: int
    zeros: dict[str, set[int]]  # per grouping, the groups whose loads include a zero
    repeat_rate: float
    span_s: float  # how far back the usable loads reach
    cadence_s: float
    recent_loads: dict[str, int]  # per season grouping, the loads of the last `window_days` its level is from


def _keys(seconds: np.ndarray, grouping: str) -> np.ndarray:
    """The season of each moment (UTC seconds) under a grouping."""
    days = np.floor(seconds / DAY_S).astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    hour = ((seconds % DAY_S) // 3600).astype(np.int64)
    weekend = (weekday >= 5).astype(np.int64)
    if grouping == "hour of week":
        return weekday * 24 + hour
    if grouping == "hour, weekday or weekend":
        return weekend * 24 + hour
    if grouping == "hour of day":
        return hour
    if grouping == "weekday":
        return weekday
    if grouping == "weekday or weekend":
        return weekend
    return np.zeros(len(seconds), dtype=np.int64)


def _median(values: np.ndarray) -> float:
    """`np.median` of a 1-D array, to the bit (NaN when empty or holding a NaN), without its fixed cost: a
    fit takes a few medians of small arrays, and `np.median` spends most of its time on its checks."""
    n = len(values)
    if not n:
        return math.nan
    ordered = np.sort(values)
    if ordered[-1] != ordered[-1]:  # NaN sorts last
        return math.nan
    return float((ordered[(n - 1) // 2] + ordered[n // 2]) / 2)


def _mean(values: np.ndarray) -> float:
    """`np.mean` of a 1-D float or boolean array, to the bit (NaN when empty), without its fixed cost."""
    return float(values.sum() / len(values)) if len(values) else math.nan


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True, return_counts=True)` of small non-negative integer keys (seasons)."""
    counts = np.bincount(keys)
    present = counts > 0
    return np.nonzero(present)[0], (np.cumsum(present) - 1)[keys], counts[present]


SUB_DAILY_GROUPINGS = ("hour of week", "hour, weekday or weekend", "hour of day", "plain")
DAILY_GROUPINGS = ("weekday", "weekday or weekend", "plain")


def _groupings(cadence_s: float) -> tuple[str, ...]:
    return SUB_DAILY_GROUPINGS if cadence_s < SUB_DAILY_S else DAILY_GROUPINGS


def _all_keys(seconds: np.ndarray) -> dict[str, np.ndarray]:
    """The season of each moment under every grouping: a series' loads are grouped once, not at each fit."""
    return {grouping: _keys(seconds, grouping) for grouping in {*SUB_DAILY_GROUPINGS, *DAILY_GROUPINGS}}


def _slope(t: np.ndarray, y: np.ndarray, cadence_s: float) -> float:
    """The median slope between loads a week apart (weekly and daily seasons cancel out); 0 if too few."""
    target = np.searchsorted(t, t + 7 * DAY_S - min(cadence_s / 2, 3 * 3600))
    ok = target < len(t)
    ok[ok] &= (y[ok] > 0) & (y[target[ok]] > 0)  # empty loads (weekends, holidays) say nothing of a trend
    if ok.sum() < 5:
        return 0.0
    j = np.nonzero(ok)[0]
    k = target[ok]
    gaps = t[k] - t[j]
    keep = gaps < 7 * DAY_S + min(cadence_s / 2, 3 * 3600)
    if keep.sum() < 5:
        return 0.0
    return _median((y[k][keep] - y[j][keep]) / gaps[keep])


def _fit(
    t: np.ndarray,
    y: np.ndarray,
    raw: np.ndarray,
    now: float,
    rule: AnomalyRule,
    keys: dict[str, np.ndarray],
    positions: np.ndarray,
) -> _Model | None:
    """Learn seasons, trend and spread from the usable loads before `now`, at `positions` of a series whose
    loads' seasons are `keys` (`_all_keys`)."""
    recent = t >= now - rule.season_days * DAY_S
    t, y, raw, positions = t[recent], y[recent], raw[recent], positions[recent]
    if len(t) < rule.min_history:
        return None
    cadence = _median(np.diff(t)) if len(t) > 1 else DAY_S
    slope = _slope(t, y, cadence)
    projected = y + slope * (now - t)
    plain = t >= now - rule.window_days * DAY_S
    fitted: list[tuple[str, dict[int, float], dict[int, int], float]] = []
    zeros: dict[str, set[int]] = {}
    recent_loads: dict[str, int] = {}
    recent = np.nonzero(plain & (raw > 0))[0]  # the loads with rows of the last `window_days`
    at_recent = projected[recent]
    errors: dict[str, float] = {}
    for grouping in _groupings(cadence):
        use = plain if grouping == "plain" else np.ones(len(t), dtype=bool)
        if use.sum() < rule.min_history:
            continue
        season = keys[grouping][positions[use]]
        values = projected[use]
        unique, inverse, counts = _groups(season)
        group_medians, deviation, errors[grouping] = _group_medians(values, inverse, counts, raw[use] > 0)
        if not len(deviation):
            continue
        if grouping == "plain":  # the level from the recent window; noise and fit from the whole history
            whole = np.zeros(len(t), dtype=np.int64)
            _, deviation, errors[grouping] = _group_medians(projected, whole, np.array([len(t)]), raw > 0)
        elif len(recent) >= rule.min_history:
            # the seasons from the whole history, their level from the recent loads (empty groups stay empty)
            group_medians[group_medians > 0] += _median(at_recent - group_medians[inverse[recent]])
            recent_loads[grouping] = len(recent)
        spread = _spread(deviation)
        zeros[grouping] = set(np.unique(season[raw[use] == 0]).tolist())
        medians = dict(zip(unique.tolist(), group_medians.tolist(), strict=True))
        fitted.append((grouping, medians, dict(zip(unique.tolist(), counts.tolist(), strict=True)), spread))
    if not fitted:
        return None
    plain_error = errors.get("plain", math.inf)
    # a season is learned when it predicts the loads: its mean out-of-sample distance is 10 % below plain's
    kept = [g for g in fitted if g[0] == "plain" or errors[g[0]] <= 0.9 * plain_error]
    kept.sort(key=lambda g: errors[g[0]])
    before = raw[: max(len(raw) - rule.flatline_loads + 1, 0)]  # not the run that may be a flatline now
    filled = before[1:] > 0
    repeats = _mean(before[1:][filled] == before[:-1][filled]) if filled.any() else 1.0
    return _Model(now, slope, kept, len(t), zeros, repeats, now - float(t[0]), cadence, recent_loads)


def _spread(deviation: np.ndarray) -> float:
    """The noise's standard deviation from distances to group medians: their mean once those beyond
    3 × the MAD's estimate are left out (steadier than the MAD alone, as robust to outliers)."""
    rough = MAD_TO_SIGMA * _median(deviation)
    if rough == 0:
        return 0.0
    return math.sqrt(math.pi / 2) * _mean(deviation[deviation <= 3 * rough])


def _group_medians(
    values: np.ndarray, inverse: np.ndarray, counts: np.ndarray, judged: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Each group's median; each judged value's distance from the median of the rest of its
    group, scaled so that its median estimates the noise's (unbiased for groups of 4 or more);
    and the mean capped distance of all values (how well the grouping predicts a load)."""
    order = np.lexsort((values, inverse))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ordered = values[order]
    medians = (ordered[starts + (counts - 1) // 2] + ordered[starts + counts // 2]) / 2
    size = counts[inverse[order]]
    start = starts[inverse[order]]
    rank = np.arange(len(values)) - start
    low, high = (size - 2) // 2, (size - 1) // 2  # the median's places among the other size − 1
    paired = size >= 2
    usable = paired & judged[order]
    low_at = np.where(paired, start + low + (low >= rank), 0)
    high_at = np.where(paired, start + high + (high >= rank), 0)
    others = (ordered[low_at] + ordered[high_at]) / 2
    distance = np.abs(ordered - others)
    # out of sample: how far each load is from what the rest of its group predicts (capped at 1;
    # a load alone in its group counts 1), whatever its rows
    predicted = np.where(paired, np.minimum(distance, 1.0), 1.0)
    deviation = distance / np.sqrt(1 + math.pi / (2 * np.maximum(size - 1, 1)))
    return medians, deviation[usable], _mean(predicted)


def _places(t: np.ndarray) -> np.ndarray:
    """Per moment (UTC seconds): day of the month, days to the month's end, business days to its end
    (-1 at weekends)."""
    days = np.floor(t / DAY_S).astype(np.int64).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    end = (months + 1).astype("datetime64[D]") - 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    business = np.where(np.is_busday(days), np.busday_count(days + 1, end + 1), -1)
    return np.stack([day, (end - days).astype(np.int64), business], axis=1)


def score_series(
    loaded_at: pd.Series | np.ndarray,
    row_count: pd.Series | np.ndarray,
    rule: AnomalyRule = DEFAULT_RULE,
    marks: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Judge each load of one series (sorted by `loaded_at`, UTC), oldest first.

    `marks` maps a load's position to "expected" or "new normal". Returns, per load: baseline,
    lower, upper (rows), robust_z, history (loads the baseline saw), season (the grouping
    used), anomalous (the series is in an anomalous episode), onset (an alert: anomalous, and the
    previous load was not), kind (zero, drop, spike, double, flatline; "new normal" when a level is
    adopted; "calendar" or "holiday" when a recurring day excuses it; "expected" when marked).
    """
    stamps = pd.to_datetime(pd.Series(loaded_at), utc=True)
    t = stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]").astype(np.int64) / 1e6
    scorer = _Scorer(t, np.asarray(row_count, dtype=np.float64), rule, marks or {})
    for i in range(len(t)):
        scorer.judge(i)
    return scorer.result()


class _Scorer:
    """Judging one series load by load: what the earlier loads left (baselines' loads, the anomalous run, the model)."""

    def __init__(self, t: np.ndarray, raw: np.ndarray, rule: AnomalyRule, marks: dict[int, str]):
        n = len(t)
        self.t, self.raw, self.rule, self.marks = t, raw, rule, marks
        self.y = np.log1p(np.maximum(raw, 0))
        self.usable = np.array([marks.get(i) != "expected" for i in range(n)], dtype=bool)  # may serve in baselines
        names = ("baseline", "lower", "upper", "robust_z", "residual", "threshold", "spread")
        self.out = {name: np.full(n, np.nan) for name in names}
        self.history = np.zeros(n, dtype=np.int64)
        self.season = np.full(n, None, dtype=object)
        self.kind = np.full(n, None, dtype=object)
        self.anomalous = np.zeros(n, dtype=bool)
        self.held = np.zeros(n, dtype=bool)  # anomalous and not adopted
        self.model: _Model | None = None
        self.episode: list[int] = []  # positions of the current anomalous run
        self.refit_s = 0.0
        # the places of the month (day, days and business days to its end; with the hour for sub-daily series)
        sub_daily = n > 1 and _median(np.diff(t)) < SUB_DAILY_S
        hours = (t % DAY_S) // 3600 if sub_daily else np.zeros(n)
        places = _places(t) * 24 + hours.astype(np.int64)[:, None]
        self.peers_at = [_positions_by_value(places[:, p]) for p in range(3)]
        self.keys = _all_keys(t)
        self.places, self.seconds = places.tolist(), t.tolist()  # read load by load: plain lists are faster
        days = pd.to_datetime(t, unit="s").strftime("%m-%d") if n else pd.Index([])
        self.holiday = np.isin(np.asarray(days), list(rule.holidays))
        self.not_a_peer = self.holiday | np.array([marks.get(i) == "expected" for i in range(n)], dtype=bool)

    def judge(self, i: int) -> None:
        """Judge load i against the loads before it, and carry the run and the baselines on."""
        t, usable, held = self.t, self.usable, self.held
        # anomalous loads stay out of baselines for a while, and while their run lasts
        prior = np.nonzero(usable[:i] & ~(held[:i] & (t[:i] > t[i] - QUARANTINE_S)))[0]
        if self.episode and t[i] - t[0] >= self.rule.window_days * DAY_S:
            prior = prior[~np.isin(prior, self.episode)]
        model = self.model
        if model is None or t[i] - model.fitted_at >= self.refit_s or model.history == 0:
            self.model = None
            if len(prior):
                self.model = _fit(t[prior], self.y[prior], self.raw[prior], t[i], self.rule, self.keys, prior)
            # the seasons and spread are learned again once a day: at each load of a daily series, at the
            # day's first load of a series loading more often (a fit costs far more than judging a load)
            sub_daily = self.model and len(prior) > 1 and _median(np.diff(t[prior])) <= DAY_S / 2
            self.refit_s = DAY_S if sub_daily else 0.0
        mark = self.marks.get(i)
        if self.model is None:
            self._judge_unlearned(i, prior, mark)
            return
        residual, threshold, expected_rows, group_has_zero = self._band(i, self.model)
        found = self._finding(i, residual, threshold, expected_rows, group_has_zero)
        if mark == "expected":
            self.kind[i] = "expected"
            return
        self._follow(i, found, residual, threshold, expected_rows, mark)

    def _judge_unlearned(self, i: int, prior: np.ndarray, mark: str | None) -> None:
        """Without a model (too little history) only a zero load among loads with rows is anomalous."""
        raw, kind, episode = self.raw, self.kind, self.episode
        has_rows = len(prior) > 0 and bool(np.all(raw[prior] > 0))
        if raw[i] == 0 and has_rows and mark is None:
            self.anomalous[i], kind[i] = True, "zero"
            goes_on = bool(episode) and kind[episode[-1]] == "zero"
            self.episode = [*episode, i] if goes_on else [i]
        else:
            self.episode = []
            kind[i] = mark if mark else None

    def _band(self, i: int, model: _Model) -> tuple[float, float, float, bool]:
        """Load i's baseline and band, stored per load; returns (residual, threshold, expected rows, whether the
        baseline's group holds a zero load)."""
        rule, out = self.rule, self.out
        level, spread, size, group_has_zero, grouping = _baseline(model, self.t[i], self.keys, i, rule)
        expected_rows = math.expm1(level)
        counting = 1 / (expected_rows + 1)  # the variance of a count in log space, for small counts
        # the baseline is as uncertain as a median of its group's loads, or of the recent loads its level is from
        size = min(size, model.recent_loads.get(grouping, size))
        noise = math.sqrt(spread**2 * (1 + math.pi / (2 * size)) + counting)
        threshold = max(rule.z_threshold * noise, math.log1p(rule.min_relative_change))
        residual = self.y[i] - level
        out["baseline"][i], out["residual"][i], out["threshold"][i] = expected_rows, residual, threshold
        out["spread"][i] = spread
        out["lower"][i], out["upper"][i] = max(math.expm1(level - threshold), 0.0), math.expm1(level + threshold)
        out["robust_z"][i] = abs(residual) / spread if spread > 0 else np.nan
        self.history[i], self.season[i] = model.history, grouping
        return residual, threshold, expected_rows, group_has_zero

    def _finding(
        self, i: int, residual: float, threshold: float, expected_rows: float, group_has_zero: bool
    ) -> str | None:
        """What load i is, judged alone: flatline, zero, spike, double, drop, or None (month-end peaks and
        holidays excused)."""
        raw, rule = self.raw, self.rule
        far = abs(raw[i] - expected_rows) >= rule.min_rows
        found = None
        if _flatline(raw, i, rule) and self.model.repeat_rate < rule.flatline_repeat_rate:
            found = "flatline"
        elif raw[i] == 0 and far and (residual < -threshold or (not group_has_zero and expected_rows >= 1)):
            found = "zero"
        elif far and abs(residual) > threshold:
            found = "spike" if residual > 0 else "drop"
        if found == "spike" and _doubled(raw, self.usable, i, residual, threshold):
            found = "double"
        if found in (None, "spike", "drop", "double"):
            found = self._calendar(i, found, residual)
        out = self.out
        if found in ("drop", "zero") and self.holiday[i]:
            found, self.kind[i], out["residual"][i] = None, "holiday", np.nan  # no month's pattern either
        return found

    def _month_peers(self, i: int) -> list[tuple[int, list[int]]]:
        """Per place of the month (same day of the month, days or business days before its end; same hour
        for sub-daily series), the loads there 20 to `month_days` days before load i that were judged and
        say what the place holds (no holiday, zero or stuck load, nor one found below the place's level)."""
        t, residuals, kind, skip = self.seconds, self.out["residual"], self.kind, self.not_a_peer
        first, last = t[i] - self.rule.month_days * DAY_S, t[i] - 20 * DAY_S
        found = []
        for p, place in enumerate(self.places[i]):
            if place < 0:
                continue
            peers = [
                j
                for j in self.peers_at[p][place]
                if first <= t[j] <= last and residuals[j] == residuals[j] and not skip[j] and kind[j] != "zero"
            ]
            if peers:
                found.append((p, peers))
        return found

    def _calendar(self, i: int, found: str | None, residual: float) -> str | None:
        """Load i at a place of the month whose latest and most of its earlier months were off
        the same way (a month-end peak): a drop when below the level they recur at by the band, else
        excused ("calendar") when off as much the same way. A load the band would pass is judged so only
        where every earlier month (two at least) was off beyond the band, upwards."""
        residuals, thresholds = self.out["residual"], self.out["threshold"]
        excused = False
        for p, peers in self._month_peers(i):
            up = residuals[peers[-1]] > 0
            agree = [j for j in peers if abs(residuals[j]) > thresholds[j] / 2 and (residuals[j] > 0) == up]
            if not agree or agree[-1] != peers[-1] or 2 * len(agree) <= len(peers):
                continue
            if found is None and not (
                up
                and len(agree) == len(peers) >= 2
                and all(abs(residuals[j]) > thresholds[j] for j in peers)
                and not self._elsewhere(i, p, peers)
            ):
                continue
            off = residuals[agree]
            level = _median(off)
            recurring_rows = math.expm1(self.y[i] - residual + level)
            far = recurring_rows - self.raw[i] >= self.rule.min_rows
            if level > 0 and far and residual < level - self._recurring_band(i, off, level):
                self.not_a_peer[i] = True
                return "zero" if self.raw[i] == 0 else "drop"
            excused |= found is not None and bool(
                np.all((np.sign(off) == np.sign(residual)) & (off / residual > 1 / 3) & (off / residual < 3))
            )
        if excused:
            self.kind[i] = "calendar"
            return None
        return found

    def _elsewhere(self, i: int, p: int, peers: list[int]) -> bool:
        """The loads at load i's place p of the month share another place load i is not at (the 30th of
        months ending on a weekday is their last business day too): they may recur there, not here."""
        places = self.places
        for q in range(3):
            shared = {places[j][q] for j in peers}
            if q != p and len(shared) == 1 and places[i][q] not in shared:
                return True
        return False

    def _recurring_band(self, i: int, off: np.ndarray, level: float) -> float:
        """The band around a recurring level (log space): the series' noise, or the recurring loads' own
        spread when larger, for the median of len(off) loads; the counting noise at that level."""
        spread = max(float(self.out["spread"][i]), float(np.std(off, ddof=1)) if len(off) > 1 else 0.0)
        expected = self.y[i] - self.out["residual"][i] + level
        noise = math.sqrt(spread**2 * (1 + 1 / len(off)) + 1 / (math.expm1(expected) + 1))
        return max(self.rule.z_threshold * noise, math.log1p(self.rule.min_relative_change))

    def _follow(
        self, i: int, found: str | None, residual: float, threshold: float, expected_rows: float, mark: str | None
    ) -> None:
        """Carry the anomalous run on with load i: go on, adopt its level, end it, or start one."""
        raw, y, kind, episode, rule = self.raw, self.y, self.kind, self.episode, self.rule
        run_kind = kind[episode[-1]] if episode else None
        level_run = found is None and kind[i] is None and run_kind in ("spike", "drop", "double") and raw[i] > 0
        if level_run and abs(y[i] - _median(y[episode])) < abs(residual):
            found = run_kind  # nearer the run's level than the baseline: the run goes on
        continues = found is not None and _continues(episode, found, kind, y, i, threshold)
        if mark == "new normal" or (
            continues and found not in ("zero", "flatline") and _settled(episode, self.model, rule)
        ):
            start = episode[0] if episode and mark != "new normal" else i
            run = [*episode, i] if mark != "new normal" else [i]
            offset = _median(self.out["residual"][run])
            y[:start] += np.where(raw[:start] > 0, offset, 0.0)  # earlier loads move to the new level; seasons stay
            self.held[run] = False
            kind[i], self.episode, self.model = "new normal", [], None
            return
        if found is None:
            self.usable[i] = kind[i] is None  # holidays and month-end peaks stay out of the baselines
            if raw[i] > 0 or expected_rows >= 1:  # an empty load where none are expected keeps a run going
                self.episode = []
            return
        self.anomalous[i], kind[i], self.held[i] = True, found, True
        if found == "flatline":  # stuck counts say nothing of the series
            self.usable[max(i - rule.flatline_loads + 1, 0) : i + 1] = False
            self.not_a_peer[max(i - rule.flatline_loads + 1, 0) : i + 1] = True
        if episode and _continues(episode, found, kind, y, i, threshold):
            episode.append(i)
        else:
            self.episode = [i]

    def result(self) -> pd.DataFrame:
        """The verdicts, one row per load."""
        out = self.out
        return pd.DataFrame(
            {
                "baseline": out["baseline"],
                "lower": out["lower"],
                "upper": out["upper"],
                "robust_z": out["robust_z"],
                "history": self.history,
                "season": self.season,
                "anomalous": self.anomalous,
                "onset": self.anomalous & ~np.concatenate(([False], self.anomalous[:-1])),
                "kind": self.kind,
            }
        )


def _baseline(
    model: _Model, moment: float, keys: dict[str, np.ndarray], i: int, rule: AnomalyRule
) -> tuple[float, float, int, bool, str]:
    """(level, spread, group size, group holds a zero, grouping) for load i at `moment` (`keys`: `_all_keys`)."""
    drift = model.slope * (moment - model.fitted_at)
    for grouping, medians, sizes, spread in model.groupings:
        key = int(keys[grouping][i])
        size = sizes.get(key, 0)
        if size >= (rule.min_season_loads if grouping != "plain" else rule.min_history):
            return medians[key] + drift, spread, size, key in model.zeros.get(grouping, set()), grouping
    grouping, medians, sizes, spread = model.groupings[-1]
    key = next(iter(medians))
    return medians[key] + drift, spread, sizes[key], key in model.zeros.get(grouping, set()), grouping


def _flatline(raw: np.ndarray, i: int, rule: AnomalyRule) -> bool:
    """The same non-zero count `flatline_loads` times in a row, ending at load i."""
    k = rule.flatline_loads
    return i + 1 >= k and raw[i] > 0 and bool(np.all(raw[i - k + 1 : i + 1] == raw[i]))


def _doubled(raw: np.ndarray, usable: np.ndarray, i: int, residual: float, threshold: float) -> bool:
    """About twice the baseline, or exactly twice one of the last usable loads (for a load above the band)."""
    if abs(residual - math.log(2)) < threshold / 2:
        return True
    recent = np.nonzero(usable[:i])[0][-3:]
    return raw[i] >= 20 and bool(np.any(raw[recent] * 2 == raw[i]))


def _positions_by_value(values: np.ndarray) -> dict[int, list[int]]:
    """Each value's positions in `values`, in order."""
    if not len(values):
        return {}  # np.split of nothing still gives one (empty) part
    order = np.argsort(values, kind="stable")
    unique, starts = np.unique(values[order], return_index=True)
    return {value: part.tolist() for value, part in zip(unique.tolist(), np.split(order, starts[1:]), strict=True)}


def _settled(episode: list[int], model: _Model, rule: AnomalyRule) -> bool:
    """A run has lasted `adopt_after` loads, and the history reaches back `window_days` (in a
    younger one a run may be a season not learned yet: the plain window catches up instead)."""
    return len(episode) + 1 >= rule.adopt_after and model.span_s >= rule.window_days * DAY_S


def _continues(episode: list[int], found: str, kind: np.ndarray, y: np.ndarray, i: int, threshold: float) -> bool:
    """Load i carries on the anomalous run: the same direction, at the run's level."""
    if not episode:
        return False
    last = kind[episode[-1]]
    up = ("spike", "double")
    if (found in up) != (last in up) or (found == "zero") != (last == "zero"):
        return found == "flatline" and last == "flatline"
    return abs(y[i] - _median(y[episode])) <= threshold

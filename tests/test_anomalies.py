"""Seasonal volume anomalies: the fallback while a season is learned, and people's marks
("expected", "new normal") reaching alerts, health (`volume_scores`) and the Trends chart."""

from __future__ import annotations

import getpass
from urllib.parse import parse_qs, urlsplit

import dlt
import numpy as np
import pandas as pd
import pytest

from benchmarks.anomalies import generate
from glasspane.anomalies import _groups, _mean, _median, score_series
from glasspane.health import volume_scores
from glasspane.store import Store
from glasspane.store.volume_marks import MarkedLoad, record_mark
from tests import dlt_fixtures as fx
from tests.alerting import alerts_config, evaluate_now
from tests.conftest import collect_into, source
from tests.slack_server import SlackServer
from tests.test_app_core import app
from tests.test_dashboard_pages import chart_data


def business_days(weeks: int, rows: int = 1000) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """A pipeline loading about `rows` rows each weekday at 06:00 and nothing at weekends."""
    at = pd.date_range("2026-03-02 06:00", periods=7 * weeks, freq="D", tz="UTC")  # starts on a Monday
    noise = np.random.default_rng(7).normal(0, 0.03, len(at))
    counts = np.where(at.day_of_week < 5, np.round(rows * np.exp(noise)), 0)
    return at, counts.astype(int)


def test_weekend_zeros_are_learned_falling_back_to_the_plain_window_until_then():
    at, counts = business_days(8)
    verdicts = score_series(at, counts)
    saturdays = np.nonzero(np.asarray(at.day_of_week == 5))[0]
    first, last = verdicts.iloc[saturdays[0]], verdicts.iloc[saturdays[-1]]
    # the first weekend: too little history for a weekly season, the plain window flags the zeros
    assert first["season"] == "plain" and first["anomalous"] and first["kind"] == "zero"
    # weeks later the weekday season is learned: a weekend's zero is normal, a weekday's is not
    assert last["season"] in ("weekday", "weekday or weekend") and not last["anomalous"]
    tuesday = len(counts) - 6  # the last Tuesday (the series ends on a Sunday)
    assert at[tuesday].day_name() == "Tuesday"
    counts[tuesday] = 0
    broken = score_series(at, counts).iloc[tuesday]
    assert broken["anomalous"] and broken["kind"] == "zero" and broken["baseline"] > 900


def test_a_series_without_loads_gets_no_verdicts():
    verdicts = score_series(pd.Series([], dtype="datetime64[us, UTC]"), pd.Series([], dtype="int64"))
    assert verdicts.empty and {"baseline", "anomalous", "kind"} <= set(verdicts.columns)


def test_the_fast_median_mean_and_grouping_give_numpys_results_to_the_bit():
    """The rule's verdicts must not move with its speed-ups: these stand in for np.median, np.mean and
    np.unique, and are compared with them on the shapes the rule feeds them."""
    rng = np.random.default_rng(3)
    arrays = [rng.normal(0, 1, n) for n in (1, 2, 3, 4, 35, 36, 840)]
    arrays += [np.log1p(rng.integers(0, 5, 9).astype(float)), np.array([1.0, np.nan, 2.0]), np.array([np.inf, 1.0])]
    for values in arrays:
        with np.errstate(all="ignore"):
            assert np.array_equal(_median(values), np.median(values), equal_nan=True)
            assert _mean(values) == np.mean(values) or np.isnan(_mean(values)) and np.isnan(np.mean(values))
        flags = values > 0
        assert _mean(flags) == np.mean(flags)
    assert np.isnan(_median(np.array([]))) and np.isnan(_mean(np.array([])))
    keys = rng.integers(0, 168, 500)
    for ours, numpys in zip(_groups(keys), np.unique(keys, return_inverse=True, return_counts=True), strict=True):
        assert np.array_equal(ours, numpys) and ours.dtype == numpys.dtype


def test_an_hourly_nightly_batch_is_learned_and_a_missing_batch_is_not():
    at = pd.date_range("2026-03-02", periods=24 * 28, freq="h", tz="UTC")
    counts = np.where(np.asarray(at.hour == 2), 50_000, 2_000) + np.random.default_rng(3).integers(0, 50, len(at))
    verdicts = score_series(at, counts)
    nights = np.nonzero(np.asarray(at.hour == 2))[0]
    assert not verdicts["anomalous"].iloc[nights[-7:]].any()  # the nightly peak is its hour's normal
    assert verdicts["season"].iloc[-1].startswith("hour")
    counts[nights[-1]] = 2_000  # the batch did not run
    assert score_series(at, counts).iloc[nights[-1]][["anomalous", "kind"]].tolist() == [True, "drop"]


def month_end_peaks(weeks: int) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """A business-day pipeline loading 4 × its usual 1,000 rows on each month's last business day; and
    the positions of those days."""
    at, counts = business_days(weeks)
    end = at.normalize() + pd.offsets.MonthEnd(0)
    last = end - pd.to_timedelta(np.maximum(end.day_of_week - 4, 0), unit="D")
    peaks = np.nonzero(np.asarray(at.normalize() == last.normalize()))[0]
    counts[peaks] *= 4
    return at, counts, peaks


def test_a_month_end_peak_is_learned_and_a_drop_below_its_level_is_still_a_drop():
    at, counts, peaks = month_end_peaks(22)  # March to July: five month-ends
    verdicts = score_series(at, counts)
    assert verdicts["onset"].iloc[peaks[0]]  # the first peak: nothing to learn it from yet
    assert not verdicts["anomalous"].iloc[peaks[1:]].any()  # then it recurs: the calendar excuses it
    assert (verdicts["kind"].iloc[peaks[1:]] == "calendar").all()
    # the last month-end loads half its usual peak (still twice an ordinary day): a drop, not a peak
    halved = counts.copy()
    halved[peaks[-1]] //= 2
    assert score_series(at, halved).iloc[peaks[-1]][["anomalous", "onset", "kind"]].tolist() == [True, True, "drop"]
    # the peak is missing (an ordinary day's rows, inside the everyday band): the peak's level says drop
    missing = counts.copy()
    missing[peaks[-1]] = 1000
    assert score_series(at, missing).iloc[peaks[-1]][["anomalous", "onset", "kind"]].tolist() == [True, True, "drop"]
    # nothing else is alerted: not the 30th of a month whose 30th was its last business day before
    assert not verdicts["anomalous"].iloc[peaks[0] + 1 :].any()


def test_a_lasting_step_is_alerted_once_then_adopted_and_a_flatline_and_a_double_load_are_named():
    at = pd.date_range("2026-01-05 06:00", periods=70, freq="D", tz="UTC")
    counts = np.round(5000 * np.exp(np.random.default_rng(11).normal(0, 0.04, 70))).astype(int)
    counts[40:] *= 3  # a new customer triples the table from day 40 on
    counts[60] = counts[59] * 2  # the previous load loaded twice
    counts[64:70] = counts[63]  # stuck
    verdicts = score_series(at, counts)
    step = verdicts.iloc[40:60]
    assert step["onset"].sum() == 1 and step.iloc[0]["kind"] == "spike"  # one alert for the step
    adopted = step.index[step["kind"] == "new normal"][0]
    assert adopted - 40 < 6 and not verdicts.loc[adopted:59, "anomalous"].any()  # then the new level is normal
    assert verdicts.iloc[60][["onset", "kind"]].tolist() == [True, "double"]
    flat = verdicts.iloc[64:70]
    assert flat["kind"].tolist()[3:] == ["flatline"] * 3 and flat["onset"].sum() == 1


def test_after_a_step_is_adopted_empty_hours_stay_empty_and_the_nightly_season_stays_learned():
    at = pd.date_range("2026-03-02", periods=24 * 42, freq="h", tz="UTC")
    nights = np.nonzero(np.asarray(at.hour == 2))[0]  # a nightly batch, the only hour with rows
    counts = np.zeros(len(at), dtype=int)
    counts[nights] = np.round(600 * np.exp(np.random.default_rng(5).normal(0, 0.03, len(nights))))
    counts[nights[21:]] *= 3  # a new customer from the 22nd night on
    verdicts = score_series(at, counts)
    assert verdicts["kind"].iloc[nights[21] : nights[27]].eq("new normal").any()  # adopted within the week
    later = verdicts.iloc[nights[35] :]  # two weeks on: empty hours are normal, judged by the hour
    assert not later["anomalous"].any() and later["season"].str.startswith("hour").all()
    counts[nights[-1]] = counts[nights[-1]] * 2 // 5  # 60 % fewer rows in the last batch
    assert score_series(at, counts).iloc[nights[-1]][["anomalous", "onset", "kind"]].tolist() == [True, True, "drop"]


def test_a_growing_business_day_table_that_halves_is_judged_at_its_recent_level():
    """The benchmark's series_092 of seed 19: a noisy (15 %) business-day table growing 1.5 % a day falls to
    about 55 % for good on day 126 and loads 60 % less than that on day 140. Its seasons come from five
    weeks, its level from the last two."""
    series = generate(19, 93)[92]
    assert series.tags["shape"] == "business-day"
    assert series.events[1:] == [("level_shift", 126, 130), ("drop", 140, 140)]
    verdicts = score_series(series.loaded_at, series.rows)
    assert verdicts.iloc[126][["onset", "kind"]].tolist() == [True, "drop"]  # the step is alerted once, then adopted
    assert verdicts["kind"].iloc[127:131].eq("new normal").any() and verdicts["onset"].iloc[127:140].sum() == 0
    assert verdicts.iloc[140][["onset", "kind"]].tolist() == [True, "drop"]  # a drop at the new level
    assert verdicts.iloc[140]["baseline"] < 600  # judged against the level after the step (about 520), not before


@pytest.fixture
def crm(tmp_path, monkeypatch):
    """A real dlt pipeline loading `users` into DuckDB, collected into a store, with Slack on loopback."""
    slack = SlackServer().start()
    monkeypatch.setenv("RUNTIME__SLACK_INCOMING_HOOK", slack.url("/services/T0/B0/x"))
    warehouse = tmp_path / "w.duckdb"
    pipeline = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    store = Store(tmp_path / "store.duckdb")
    config = alerts_config(tmp_path, '[[alerts]]\nrule = "volume"\ntables = ["users"]\n')

    def load(users: int, start: int) -> None:
        fx.run(pipeline, fx.users(users, start=start))
        collect_into(store, source("wh", "duckdb", path=str(warehouse)))

    yield store, config, load, slack
    slack.stop()


def users_scores(store: Store) -> pd.DataFrame:
    with store.reader() as con:
        scores = volume_scores(con, pipelines=("crm",), tables=("users",))
    return scores


def buttons_of(message: dict) -> dict[str, str]:
    """A Slack message's link buttons: label -> URL."""
    return {e["text"]["text"]: e["url"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def link_query(link: str) -> dict[str, str]:
    """A Glasspane link's query parameters."""
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def marked_load(link: str) -> MarkedLoad:
    query = link_query(link)
    return MarkedLoad(query["location"], "crm", query["pipeline"], query["table"], query["load"])


def test_new_normal_from_a_slack_link_moves_the_baseline_for_alerts_health_and_the_chart(crm, monkeypatch):
    store, config, load, slack = crm
    for start in range(0, 60, 10):
        load(3, start)
    assert evaluate_now(store, config).alerts == []
    load(40, 100)  # a new customer: forty users a load from now on
    [alert] = [a for a in evaluate_now(store, config).alerts if a.subject == "crm.users"]
    assert alert.state == "firing" and "40 rows in a load" in alert.title
    messages = [buttons_of(m) for m in slack.messages()]
    [buttons] = [b for b in messages if link_query(b.get("New normal", "")).get("table") == "users"]
    assert set(buttons) == {"Open in Glasspane", "Expected", "New normal"}

    # the person follows "New normal" into the Trends view and confirms it (on loopback, as the OS user)
    query = link_query(buttons["New normal"])
    at = app(store.path, monkeypatch, "pages/trends.py", range="all", **query)
    next(b for b in at.button if b.label == "Confirm").click().run()
    assert not at.exception and any("marked new normal" in s.value for s in at.success)
    points = chart_data(at)
    assert points.iloc[-1]["status"] == "new normal"  # the chart shows the mark

    scores = users_scores(store)  # health: what the rule now says of that load
    newest = scores.iloc[-1]
    assert (newest["mark"], newest["marked_by"], bool(newest["anomalous"])) == ("new normal", getpass.getuser(), False)

    load(41, 200)  # the next load at the new level is normal: the alert resolves
    [after] = [a for a in evaluate_now(store, config).alerts if a.subject == "crm.users"]
    assert after.state == "resolved"
    assert not users_scores(store).iloc[-1]["anomalous"]


def test_expected_leaves_a_load_out_of_baselines_and_alerts_and_can_be_cleared(crm):
    store, config, load, _slack = crm
    for start in range(0, 60, 10):
        load(3, start)
    load(40, 100)  # a one-off backfill
    spike = users_scores(store).iloc[-1]
    assert spike["anomalous"] and spike["kind"] == "spike"
    where = MarkedLoad(spike["location"], spike["dataset_name"], "crm", "users", spike["load_id"])
    record_mark(store, where, "expected", "sam")
    marked = users_scores(store).iloc[-1]
    assert (bool(marked["anomalous"]), marked["kind"], marked["marked_by"]) == (False, "expected", "sam")
    alerts = evaluate_now(store, config).alerts  # the nested addresses were not marked: they still alert
    assert [a.subject for a in alerts] == ["crm.users__addresses"]

    load(40, 300)  # the same again: the expected load did not teach the baseline 40
    assert users_scores(store).iloc[-1]["anomalous"]
    record_mark(store, where, "cleared", "sam")
    assert users_scores(store).iloc[-2]["anomalous"]  # without its mark, the backfill is anomalous again
    with pytest.raises(ValueError, match="mark must be one of"):
        record_mark(store, where, "fine", "sam")

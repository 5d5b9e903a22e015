"""The shared health rules: volume anomalies and lateness, on series written into a real store."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from glasspane.health import AnomalyRule, volume_scores
from glasspane.queries.health import volume_loads
from glasspane.store import migrate, summaries

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    yield con
    con.close()


def add_loads(
    con, pipeline: str, counts: list[int], every: dt.timedelta, status: str = "completed", newest_ago=None
) -> None:
    """Loads of one table, oldest first, `every` apart, the newest `newest_ago` (default `every`) ago."""
    newest_ago = every if newest_ago is None else newest_ago
    for i, count in enumerate(counts):
        at = NOW - newest_ago - every * (len(counts) - 1 - i)
        load_id = f"{at.timestamp():.6f}"
        con.execute(
            "INSERT INTO raw.runs (run_key, source, location, pipeline_name, dataset_name, schema_name, load_id, "
            "status, started_at, finished_at, is_trace_upload) VALUES (?, 's', 'loc', ?, 'ds', ?, ?, ?, ?, ?, FALSE)",
            [f"{pipeline}/{load_id}", pipeline, pipeline, load_id, status, at, at],
        )
        con.execute(
            "INSERT INTO raw.table_counts VALUES (?, ?, 'orders', 's', 'loc', 'ds', ?)", [load_id, pipeline, count]
        )


def add_loads_at(con, pipeline: str, times: list[dt.datetime], count: int = 100) -> None:
    """Completed loads of one table at these times."""
    for at in times:
        load_id = f"{at.timestamp():.6f}"
        con.execute(
            "INSERT INTO raw.runs (run_key, source, location, pipeline_name, dataset_name, schema_name, load_id, "
            "status, started_at, finished_at, is_trace_upload) VALUES (?, 's', 'loc', ?, 'ds', ?, ?, "
            "'completed', ?, ?, FALSE)",
            [f"{pipeline}/{load_id}", pipeline, pipeline, load_id, at, at],
        )
        con.execute(
            "INSERT INTO raw.table_counts VALUES (?, ?, 'orders', 's', 'loc', 'ds', ?)", [load_id, pipeline, count]
        )


def flagged(con, pipeline: str, rule: AnomalyRule | None = None) -> list[int]:
    scores = volume_scores(con, rule or AnomalyRule(), pipelines=(pipeline,))
    return scores.loc[scores["anomalous"], "row_count"].tolist()


def test_row_counts_read_narrowed_within_a_write_are_those_the_join_reads(con):
    """A write reads the row counts of the runs in scope by their lowest load id and their schemas, as
    conditions given first: the same rows as the join alone reads, for every scope."""
    add_loads(con, "shop", [100, 110, 120, 130], dt.timedelta(days=1))
    add_loads(con, "crm", [5, 6, 7, 8], dt.timedelta(hours=6), newest_ago=dt.timedelta(days=1))
    since = NOW - dt.timedelta(days=2)
    scopes = [{}, {"pipelines": ("shop",)}, {"pipelines": ("crm",), "since": since}, {"since": since}]
    scopes += [{"locations": ("loc",), "tables": ("orders",)}, {"pipelines": ("nothing_here",)}]
    for scope in scopes:
        plain = volume_loads(con, **scope)
        assert volume_loads(con, **scope, narrow=True).equals(plain), scope
    assert len(volume_loads(con, pipelines=("crm",), since=since, narrow=True)) == 4


def test_spike_and_drop_are_anomalous_noise_is_not(con):
    steady = [1000, 1040, 980, 1010, 995, 1020, 990, 1005, 1015, 985]
    add_loads(con, "p", [*steady, 5000, 1000, 600, 1010], dt.timedelta(days=1))
    assert flagged(con, "p") == [5000, 600]


def test_small_relative_change_is_not_anomalous_even_with_a_high_z(con):
    # a very stable series: +10 % is many MADs away but under the 20 % minimum change
    add_loads(con, "p", [100_000] * 3 + [100_010, 99_990] * 4 + [110_000], dt.timedelta(days=1))
    assert flagged(con, "p") == []
    assert flagged(con, "p", AnomalyRule(min_relative_change=0.05)) == [110_000]


def test_drop_to_zero_is_always_flagged_and_short_history_is_not_judged(con):
    add_loads(con, "p", [100, 110, 0], dt.timedelta(days=1))
    assert flagged(con, "p") == [0]  # only two earlier loads, yet zero is flagged
    add_loads(con, "q", [100, 110, 400], dt.timedelta(days=1))
    assert flagged(con, "q") == []  # too little history to judge a spike


def test_window_excludes_points_older_than_the_window(con):
    # an old regime of 10 rows, then 14+ days of 1000: 1000 is normal against the last 14 days
    add_loads(con, "p", [10] * 10 + [1000] * 16, dt.timedelta(days=1))
    scores = volume_scores(con, AnomalyRule(), pipelines=("p",))
    last = scores.iloc[-1]
    assert last["baseline"] == pytest.approx(1000) and not last["anomalous"]
    assert last["lower"] <= 1000 <= last["upper"]


def health(con, pipeline: str) -> str:
    return con.execute("SELECT health FROM pipelines WHERE pipeline_name = ?", [pipeline]).fetchone()[0]


def test_lateness_uses_each_pipelines_own_cadence(con):
    hourly = [100] * 10
    add_loads(con, "hourly_on_time", hourly, dt.timedelta(hours=1))
    add_loads(con, "daily_on_time", hourly, dt.timedelta(days=1))
    add_loads(con, "hourly_late", hourly, dt.timedelta(hours=1), newest_ago=dt.timedelta(hours=3))
    summaries.refresh(con)
    assert health(con, "hourly_on_time") == "healthy"
    assert health(con, "daily_on_time") == "healthy"  # 1 day old, but its cadence is a day
    assert health(con, "hourly_late") == "late"


def test_failing_and_never_seen(con):
    add_loads(con, "broken", [100, 100], dt.timedelta(hours=1), newest_ago=dt.timedelta(hours=2))
    add_loads(con, "broken", [0], dt.timedelta(minutes=1), status="failed")
    add_loads(con, "new", [0], dt.timedelta(minutes=1), status="pending")
    summaries.refresh(con)
    assert health(con, "broken") == "failing"
    assert health(con, "new") == "never_seen"  # no load of it has completed yet


def test_fixed_max_age_overrides_the_learned_cadence(con):
    add_loads(con, "p", [100] * 5, dt.timedelta(days=1), newest_ago=dt.timedelta(hours=3))
    summaries.refresh(con)
    late = "SELECT raw.health(last_status, last_success_at, cadence_s, 2.0, ?) FROM pipelines"
    assert con.execute(late, [2 * 3600]).fetchone()[0] == "late"
    assert con.execute(late, [4 * 3600]).fetchone()[0] == "healthy"


def test_a_pipeline_whose_newest_load_is_anomalous_is_anomalous_until_a_normal_load_arrives(con):
    from glasspane.pipeline_health import newest_anomalies, newest_loads, pipeline_health

    steady = [1000, 1040, 980, 1010, 995, 1020, 990, 1005, 1015, 985]
    add_loads(con, "spiky", [*steady, 5000], dt.timedelta(hours=6))
    add_loads(con, "calm", steady, dt.timedelta(hours=6))
    summaries.refresh(con)  # after a collect: the newest loads are scored once, into raw.newest_loads
    health = dict(pipeline_health(con)[["pipeline_name", "health"]].itertuples(index=False))
    assert health == {"spiky": "anomalous", "calm": "healthy"}
    assert dict(con.execute("SELECT pipeline_name, health FROM pipelines").fetchall()) == health  # SQL agrees
    live = newest_loads(con)
    assert list(newest_anomalies(con)["row_count"]) == list(live.loc[live["anomalous"], "row_count"]) == [5000]

    add_loads(con, "spiky", [1000], dt.timedelta(hours=6), newest_ago=dt.timedelta(minutes=5))
    summaries.refresh(con)
    assert newest_anomalies(con).empty and set(pipeline_health(con)["health"]) == {"healthy"}
    assert {h for (h,) in con.execute("SELECT health FROM pipelines").fetchall()} == {"healthy"}


def test_a_pipeline_that_skips_two_days_a_week_is_not_late_on_them(con):
    # five loads a week, then two days off (a business-day pipeline); its newest load is the last
    # before the days off, 2.5 days ago: twice the usual daily gap, but not the gap after that weekday
    newest = NOW - dt.timedelta(days=2.5)
    workdays = [newest - dt.timedelta(days=d) for d in range(27, -1, -1) if d % 7 < 5]
    add_loads_at(con, "business_days", workdays)
    add_loads_at(con, "every_day", [newest - dt.timedelta(days=d) for d in range(20, -1, -1)])
    summaries.refresh(con)
    assert health(con, "business_days") == "healthy"
    assert health(con, "every_day") == "late"
    cadence = con.execute("SELECT cadence_s FROM pipelines WHERE pipeline_name = 'business_days'").fetchone()[0]
    assert cadence == 3 * 86_400  # the gap after a load on that weekday

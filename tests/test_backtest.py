"""`python -m collectors alerts --backtest` on a real collected store, and `--from-csv` on series a user brings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from benchmarks.anomalies import KINDS, generate, glasspane, summarise, write_csv
from glasspane.cli.main import main
from glasspane.health import volume_scores


def test_backtest_counts_what_each_rule_would_have_sent_and_sends_nothing(demo_store, capsys, monkeypatch):
    monkeypatch.setenv("RUNTIME__SLACK_INCOMING_HOOK", "http://127.0.0.1:9/never-called")
    version = demo_store.version()
    assert main(["alerts", "--backtest", "90d", "--store", str(demo_store.path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("backtest over the last 90 days")
    with demo_store.reader() as con:
        scores = volume_scores(con, since=(pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=90)).to_pydatetime())
    alerts = scores[scores["onset"].astype(bool)]
    assert f"volume (volume): {len(alerts)} alerts" in out
    assert len(alerts) >= 1 and "noisiest series:" in out
    page_views = alerts[alerts["table_name"] == "page_views"]  # the demo's drop to zero
    assert "zero" in set(page_views["kind"]) and "web_events.page_views" in out
    assert "failed (failed): " in out and "hr_export" in out  # the demo's failing pipeline
    assert "pii (pii): not replayed" in out
    assert demo_store.version() == version  # nothing stored

    assert main(["alerts", "--backtest", "90d", "--store", str(demo_store.path), "--json"]) == 0
    rules = {r["rule"]: r for r in json.loads(capsys.readouterr().out)}
    assert rules["volume"]["alerts"] == len(alerts)


def test_backtest_needs_a_period_and_a_store(tmp_path, capsys):
    assert main(["alerts", "--backtest", "ninety", "--store", str(tmp_path / "s.duckdb")]) == 2
    assert capsys.readouterr().err.strip() == "error: --backtest: a period like 90d, 12h or 2w (got 'ninety')"
    assert main(["alerts", "--backtest", "90d", "--store", str(tmp_path / "s.duckdb")]) == 2
    assert "no pane store yet" in capsys.readouterr().err


def test_from_csv_prints_every_point_with_its_verdict(tmp_path, capsys):
    at = pd.date_range("2026-01-05 06:00", periods=60, freq="D", tz="UTC")
    rows = [1000 + (i * 37) % 50 for i in range(60)]
    rows[50] = 0
    frame = pd.DataFrame({"series": "orders", "loaded_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "row_count": rows})
    other = frame.assign(series="refunds", row_count=[100 + i % 7 for i in range(60)])
    path = tmp_path / "series.csv"
    pd.concat([frame, other]).to_csv(path, index=False)
    assert main(["alerts", "--from-csv", str(path), "--json"]) == 0
    points = json.loads(capsys.readouterr().out)
    assert len(points) == 120 and {p["series"] for p in points} == {"orders", "refunds"}
    zero = next(p for p in points if p["series"] == "orders" and p["row_count"] == 0)
    assert (zero["anomalous"], zero["alert"], zero["kind"]) == (True, True, "zero")
    assert zero["lower"] > 0 and zero["baseline"] > 900
    assert [p for p in points if p["alert"]] == [zero]
    assert main(["alerts", "--from-csv", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 series, 120 loads, 1 alerts"


def test_from_csv_bad_input_is_one_line_naming_the_file_and_the_mistake(tmp_path, capsys):
    cases = {
        "series,loaded_at\nx,2026-01-01\n": "missing column row_count (need series, loaded_at, row_count)",
        "series,loaded_at,row_count\nx,2026-01-01,5\nx,yesterday,3\n": "line 3: loaded_at: not a time",
        "series,loaded_at,row_count\nx,2026-01-01,-5\n": "line 2: row_count: not a whole number ≥ 0",
        "series,loaded_at,row_count\n": "no rows",
    }
    for text, mistake in cases.items():
        path = tmp_path / "bad.csv"
        path.write_text(text)
        assert main(["alerts", "--from-csv", str(path)]) == 2
        assert capsys.readouterr().err == f"error: {path}: {mistake}\n"
    assert main(["alerts", "--from-csv", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'missing.csv'}: cannot read")


def test_from_csv_json_gives_the_verdicts_and_figures_the_benchmark_counts(tmp_path, capsys):
    """The accuracy goals are checked through `alerts --from-csv --json`: on the benchmark's own series (in any
    row order, at any UTC offset) its points carry the verdicts the benchmark scores, and counting its `alert`s
    as the README says gives the benchmark's figures."""
    series = generate(17, 23)  # daily and hourly; misses, false alarms, runs resumed after a weekend
    path = tmp_path / "series.csv"
    write_csv(series, path)
    frame = pd.read_csv(path, keep_default_na=False).sample(frac=1, random_state=3)  # shuffled rows
    stamps = pd.to_datetime(frame["loaded_at"], utc=True)
    frame["loaded_at"] = stamps.dt.tz_convert("Europe/Berlin").map(pd.Timestamp.isoformat)  # +01:00 / +02:00
    frame.to_csv(path, index=False)
    assert main(["alerts", "--from-csv", str(path), "--json"]) == 0
    points = pd.DataFrame(json.loads(capsys.readouterr().out))
    assert points["line"].tolist() == list(range(2, len(frame) + 2))  # every row, in the file's order
    assert (pd.to_datetime(points["loaded_at"]) == stamps.to_numpy()).all()
    points["label"] = frame["label"].to_numpy()

    by_series = {name: part.sort_values("loaded_at") for name, part in points.groupby("series")}
    for s in series:  # the very verdicts the benchmark counts
        mine, theirs = by_series[s.name], glasspane(s)
        assert mine["alert"].tolist() == theirs["onset"].tolist()
        assert mine["anomalous"].tolist() == theirs["anomalous"].tolist()
        flagged = mine["anomalous"].to_numpy()  # an alert: anomalous after a load that was not
        assert (mine["alert"].to_numpy() == (flagged & ~np.concatenate(([False], flagged[:-1])))).all()

    # the README's recipe: an event (a run of loads with one label) is found when one of its points is an
    # alert; any other alert outside the warm-up is a false alarm of its kind; per 1,000 clean loads
    found = {k: [0, 0, 0] for k in KINDS}
    clean = false = 0
    for part in by_series.values():
        labels, alerts = part["label"].tolist(), part["alert"].to_numpy()
        runs = (pd.Series(labels) != pd.Series(labels).shift()).cumsum().to_numpy()
        for run in np.unique(runs):
            at = runs == run
            label = labels[int(np.argmax(at))]
            if label in KINDS:
                found[label][0 if alerts[at].any() else 1] += 1
            elif label == "":
                clean += int(at.sum())
                for kind in part["kind"].to_numpy()[at & alerts]:
                    found[kind if kind in KINDS else "spike"][2] += 1
                    false += 1
    figures = summarise(series, glasspane)
    counted = {k: (v["found"], v["events"] - v["found"], v["false"]) for k, v in figures["kinds"].items()}
    assert {k: tuple(v) for k, v in found.items()} == {k: counted[k] for k in KINDS}
    assert (clean, false) == (figures["clean"], figures["false_alarms"]) and false > 0

"""`python -m collectors alerts --backtest` on a real collected store, and `--from-csv` on series a user brings."""

from __future__ import annotations

import json

import pandas as pd

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

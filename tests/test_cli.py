"""`python -m collectors`: exit codes, the summary, and the environment overrides, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import dlt

from glasspane.cli.main import build_parser
from glasspane.settings import PROJECT_DIR
from tests import dlt_fixtures as fx
from tests.conftest import rows


def cli(*args: str, env: dict[str, str] | None = None, module: str = "collectors") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_collect_prints_a_summary_per_source_and_exits_1_when_one_fails(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    fx.run(fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm"), fx.users(2))
    config = tmp_path / "glasspane.toml"
    config.write_text(
        f'[[sources]]\nname = "wh"\nkind = "duckdb"\npath = "{warehouse}"\n\n'
        '[[sources]]\nname = "gone"\nkind = "pipelines_dir"\npath = "no/such/folder"\n'
    )
    done = cli("collect", "--config", str(config), "--store", str(store.path), "--quiet")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["source", "kind", "datasets", "new", "runs", "status"]
    assert lines[1].split() == ["wh", "duckdb", "1", "1", "ok"]
    assert lines[2].split() == ["gone", "pipelines_dir", "0", "0", "error"]
    assert f"error: source 'gone': {tmp_path}/no/such/folder: pipelines folder not found" in lines
    assert rows(store, "SELECT count(*) FROM runs") == [(1,)]

    only = cli("collect", "--source", "wh", env={"GLASSPANE_CONFIG": str(config), "GLASSPANE_STORE": str(store.path)})
    assert only.returncode == 0, only.stdout
    assert "1 source, 0 new runs, all ok" in only.stdout


def test_a_damaged_store_fails_the_collect_with_one_line_naming_it_and_is_left_as_it_was(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    fx.run(fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm"), fx.users(2))
    config = tmp_path / "glasspane.toml"
    config.write_text(f'[[sources]]\nname = "wh"\nkind = "duckdb"\npath = "{warehouse}"\n')
    assert cli("collect", "--config", str(config), "--store", str(store.path), "--quiet").returncode == 0
    damaged = bytearray(store.path.read_bytes())
    damaged[100:4000] = b"\x00garbage" * 390  # SQLite's header stays, its first pages do not
    store.path.write_bytes(damaged)

    done = cli("collect", "--config", str(config), "--store", str(store.path), "--quiet")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: store {store.path}: cannot be read (")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    alerts = cli("alerts", "--store", str(store.path))  # every command looks at the store the same way
    assert (alerts.returncode, alerts.stderr.splitlines()) == (1, done.stderr.splitlines())
    assert store.path.read_bytes() == damaged


def test_python_m_glasspane_runs_the_same_command_line_under_its_own_name(tmp_path):
    config = tmp_path / "glasspane.toml"
    config.write_text('[[sources]]\nname = "x"\nkind = "ftp"\n')
    args = ("collect", "--config", str(config), "--store", str(tmp_path / "s.duckdb"))
    shim, own = cli(*args), cli(*args, module="glasspane")
    assert (own.returncode, own.stderr) == (shim.returncode, shim.stderr) == (2, shim.stderr)
    assert "unknown kind 'ftp'" in own.stderr
    assert cli("--help", module="glasspane").stdout.startswith("usage: python -m glasspane ")


def test_config_and_argument_mistakes_exit_2_with_one_line(tmp_path):
    config = tmp_path / "glasspane.toml"
    config.write_text('[[sources]]\nname = "x"\nkind = "ftp"\n')
    done = cli("collect", "--config", str(config), "--store", str(tmp_path / "s.duckdb"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {config}: source 'x': unknown kind 'ftp' (known kinds: ")
    assert len(done.stderr.strip().splitlines()) == 1
    unknown = cli("collect", "--config", str(config), "--source", "nope")
    assert unknown.returncode == 2 and "no source named 'nope'" in unknown.stderr


def test_an_unknown_top_level_table_exits_2_naming_it_and_the_nearest_key_and_leaves_the_store_alone(tmp_path):
    config = tmp_path / "glasspane.toml"
    config.write_text(f'[[source]]\nname = "x"\nkind = "duckdb"\npath = "{tmp_path / "w.duckdb"}"\n')
    store = tmp_path / "s.duckdb"
    done = cli("collect", "--config", str(config), "--store", str(store))
    assert done.returncode == 2 and not store.exists()
    assert done.stderr.strip() == (
        f"error: {config}: unknown top-level key or table 'source' (did you mean "
        "'sources'? known: sources, alerts, alerting, access)"
    )
    config.write_text('[alert]\nrule = "failed"\n')
    assert (
        "unknown top-level key or table 'alert' (did you mean 'alerts'?"
        in cli("alerts", "--config", str(config), "--dry-run").stderr
    )


def test_without_config_or_dlts_pipelines_folder_there_is_nothing_to_collect_yet(tmp_path):
    store = tmp_path / "s.duckdb"
    done = cli(
        "collect",
        env={"DLT_DATA_DIR": str(tmp_path / "dlt_data"), "GLASSPANE_STORE": str(store), "GLASSPANE_CONFIG": ""},
    )
    assert done.returncode == 0 and not store.exists()  # no source invented, no error stored
    assert done.stdout.strip() == (
        f"no config file, and dlt's pipelines folder {tmp_path / 'dlt_data' / 'pipelines'}"
        " does not exist yet: nothing to collect yet (run a dlt pipeline, or configure "
        "sources in glasspane.toml)"
    )


def test_without_config_the_default_is_dlts_pipelines_folder(tmp_path):
    data_dir = tmp_path / "dlt_data"
    p = fx.pipeline("local_one", data_dir / "pipelines", dlt.destinations.duckdb(str(tmp_path / "l.duckdb")), "d")
    fx.run(p, fx.users(1), load_trace=False)
    store = tmp_path / "s.duckdb"
    done = cli(
        "collect", "--quiet", env={"DLT_DATA_DIR": str(data_dir), "GLASSPANE_STORE": str(store), "GLASSPANE_CONFIG": ""}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"no config file: collecting dlt's pipelines folder {data_dir / 'pipelines'}" in done.stdout
    assert "local_pipelines  pipelines_dir  1" in done.stdout


def test_source_takes_several_names_after_one_flag_or_the_flag_repeated(tmp_path, store):
    warehouse = tmp_path / "w.duckdb"
    fx.run(fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm"), fx.users(2))
    config = tmp_path / "glasspane.toml"
    config.write_text(
        f'[[sources]]\nname = "wh"\nkind = "duckdb"\npath = "{warehouse}"\n\n'
        f'[[sources]]\nname = "local"\nkind = "pipelines_dir"\npath = "{tmp_path / "pipelines"}"\n\n'
        '[[sources]]\nname = "gone"\nkind = "pipelines_dir"\npath = "no/such/folder"\n'
    )
    for names in (["--source", "wh", "local"], ["--source", "wh", "--source", "local"]):
        done = cli("collect", "--config", str(config), "--store", str(store.path), "--quiet", *names)
        assert done.returncode == 0, done.stdout + done.stderr  # `gone` was not collected
        assert [line.split()[0] for line in done.stdout.splitlines()[1:3]] == ["wh", "local"]
        assert "2 sources" in done.stdout
    assert build_parser().parse_args(["collect", "--source", "a", "b", "--source", "c"]).source == ["a", "b", "c"]

"""A scaled store (catalog in PostgreSQL, files on S3) shared by sharded collectors and dashboard replicas:
a real PostgreSQL server from Debian's packages and `moto_server`, both on loopback, started here."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dlt
import pytest
from playwright.sync_api import expect

from collectors.runner import OUTCOME_HOLD_S, CollectSummary
from glasspane.config import load_config
from glasspane.settings import PROJECT_DIR, environment
from glasspane.store import SCHEMA_VERSION, Store, StoreBusy, StoreTooNew, lake
from tests import dlt_fixtures as fx
from tests.browser import chromium, dashboard, open_page
from tests.conftest import clone, rows
from tests.servers import MotoS3, Postgres
from tests.test_store_engine import KEYS, duplicates

BUCKET = "pane"
DATASETS = ("a", "b", "c", "d", "e", "f")
SHARDS = (("lake_a", "lake_b"), ("lake_c", "lake_d"), ("lake_e", "lake_f"))


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Postgres, MotoS3]]:
    pg, s3 = Postgres(), MotoS3()
    s3.client().create_bucket(Bucket=BUCKET)
    env = {
        "PGPASSWORD": pg.password,
        "AWS_ACCESS_KEY_ID": s3.keys.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.keys.secret_access_key,
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AWS_REGION": "us-east-1",
    }
    try:
        with environment(**env):  # the store's credentials, as libpq and DuckDB read them
            yield pg, s3
    finally:
        pg.stop()
        s3.stop()


@pytest.fixture
def scaled(servers, request) -> Store:
    """An empty scaled store: a database of its own, files under a prefix of its own."""
    pg, _ = servers
    name = f"pane_{abs(hash(request.node.name)) % 10**8}"
    pg.create_database(name)
    return Store(f"postgres://{pg.USER}@127.0.0.1:{pg.port}/{name}?data_path=s3://{BUCKET}/{name}/")


def add_loads(bucket: Path, pipelines: Path, round_no: int) -> None:
    """One more load (and its trace) in every dataset, by real dlt pipelines."""
    for name in DATASETS:
        p = fx.pipeline(name, pipelines, dlt.destinations.filesystem(bucket.as_uri()), name)
        fx.run(p, fx.users(2, start=round_no * 2))


def config_for(folder: Path, bucket: Path) -> Path:
    config = folder / "glasspane.toml"
    config.write_text(
        "".join(
            f'[[sources]]\nname = "lake_{n}"\nkind = "filesystem"\nbucket_url = "{bucket.as_uri()}"\n'
            f'datasets = ["{n}"]\n\n'
            for n in DATASETS
        )
    )
    return config


READER = textwrap.dedent(
    """
    import json, sys, time
    from glasspane.queries import pipelines, runs
    from glasspane.store import SCHEMA_VERSION, Store, StoreBusy
    store, stop = Store(sys.argv[1]), sys.argv[2]
    reads, failures, seen = 0, [], set()
    import os
    while not os.path.exists(stop):
        try:
            with store.snapshot(store.version()) as con:
                n = con.execute("SELECT count(*) FROM runs").fetchone()[0]
                con.execute("SELECT * FROM pipelines").fetchall()
            seen.add(n)
            reads += 1
        except Exception as ex:
            failures.append(f"{type(ex).__name__}: {ex}")
        time.sleep(0.05)
    print(json.dumps({"reads": reads, "failures": failures[:3], "failed": len(failures), "seen": sorted(seen)}))
    """
)


def collect_command(config: Path, target: Store) -> list[str]:
    """`python -m collectors collect` of the sources in `config` into `target`, quietly."""
    store = target.location.setting
    return [sys.executable, "-m", "collectors", "collect", "--config", str(config), "--store", store, "--quiet"]


def test_three_sharded_collectors_and_readers_share_one_scaled_store_and_lose_nothing(scaled, tmp_path):
    bucket, pipelines = tmp_path / "bucket", tmp_path / "pipelines"
    bucket.mkdir()
    config = config_for(tmp_path, bucket)
    scaled.ensure_current()
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, scaled.location.setting, str(stop)],
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for round_no in range(3):
            add_loads(bucket, pipelines, round_no)
            shards = [
                subprocess.Popen(
                    [*collect_command(config, scaled), "--source", *shard],
                    cwd=PROJECT_DIR,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for shard in SHARDS
            ]
            for shard in shards:
                assert shard.wait(timeout=300) == 0, shard.stdout.read()
            expected = len(DATASETS) * (round_no + 1)
            assert rows(scaled, "SELECT count(*), count(DISTINCT run_key) FROM runs") == [(expected, expected)]
            assert duplicates(scaled) == dict.fromkeys(KEYS, 0)
    finally:
        stop.touch()
    results = [json.loads(r.communicate(timeout=60)[0]) for r in readers]
    for result in results:
        assert result["failed"] == 0, result["failures"]
        assert result["reads"] > 10
        assert set(result["seen"]) <= set(range(len(DATASETS) * 3 + 1))
    assert rows(scaled, "SELECT count(*) FROM pipelines") == [(len(DATASETS),)]


def collect_in_process(config: Path, store: Store, **options) -> CollectSummary:
    from collectors import registry
    from collectors.runner import collect

    return collect(registry.build_all(load_config(config)), store, **options)


def test_a_collect_of_many_sources_writes_their_outcomes_together_and_every_source_lands(scaled, tmp_path):
    bucket, pipelines = tmp_path / "bucket", tmp_path / "pipelines"
    bucket.mkdir()
    config = config_for(tmp_path, bucket)
    scaled.ensure_current()
    statuses = [(f"lake_{n}", "ok") for n in DATASETS]
    for round_no, hold_s in ((0, 0.0), (1, OUTCOME_HOLD_S)):  # a source's own write each, then the default hold
        add_loads(bucket, pipelines, round_no)
        store = Store(scaled.location)
        summary = collect_in_process(config, store, outcome_hold_s=hold_s)
        assert summary.ok and summary.new_runs == len(DATASETS)
        assert rows(store, "SELECT source, status FROM raw.sources ORDER BY 1") == statuses
        expected = len(DATASETS) * (round_no + 1)
        assert rows(store, "SELECT count(*), count(DISTINCT run_key) FROM runs") == [(expected, expected)]
        assert store.writes.committed == (len(DATASETS) if hold_s == 0 else 1), store.writes.describe()


def test_a_held_outcome_reaches_the_store_while_another_source_is_still_reading(scaled, tmp_path):
    bucket, pipelines = tmp_path / "bucket", tmp_path / "pipelines"
    bucket.mkdir()
    add_loads(bucket, pipelines, 0)
    config = config_for(tmp_path, bucket)
    scaled.ensure_current()
    others = {f"lake_{n}" for n in DATASETS} - {"lake_f"}
    seen_while_reading: list[set[str]] = []

    def slow_last_source(progress) -> None:  # lake_f reads on only once the others' outcomes are stored
        if progress.message.startswith("lake_f: ") and not seen_while_reading:
            for _ in range(200):
                stored = {source for (source,) in rows(scaled, "SELECT source FROM raw.sources")}
                if others <= stored:
                    break
                time.sleep(0.05)
            seen_while_reading.append(stored)

    summary = collect_in_process(config, Store(scaled.location), progress=slow_last_source, outcome_hold_s=0.5)
    assert summary.ok
    assert seen_while_reading == [others]  # lake_f had not finished; the others' outcomes were written
    assert len(rows(scaled, "SELECT source FROM raw.sources")) == len(DATASETS)


def test_shards_that_start_together_on_a_new_scaled_store_create_it_once_without_colliding(scaled, tmp_path):
    bucket, pipelines = tmp_path / "bucket", tmp_path / "pipelines"
    bucket.mkdir()
    add_loads(bucket, pipelines, 0)
    config = config_for(tmp_path, bucket)
    command = [sys.executable, "-m", "collectors", "collect", "--config", str(config), "--store"]
    shards = [
        subprocess.Popen(
            [*command, scaled.location.setting, "--quiet", "--source", *shard],
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for shard in SHARDS
    ]
    outputs = [shard.communicate(timeout=300)[0] for shard in shards]
    for shard, output in zip(shards, outputs, strict=True):
        assert shard.returncode == 0, output
        [store_line] = [line for line in output.splitlines() if line.startswith("store: ")]
        # each says what its writes cost; the one that created the store went alone, so none collided
        waited = r"(, \d+\.\d s of it waiting for turns)?"
        assert re.fullmatch(rf"store: postgres://\S+ \(\d+ writes? in \d+\.\d s{waited}\)", store_line), store_line
    assert rows(scaled, "SELECT count(*), count(DISTINCT run_key) FROM runs") == [(len(DATASETS), len(DATASETS))]
    assert rows(scaled, "SELECT count(*) FROM raw.migrations WHERE name = '0001_core'") == [(1,)]


WRITER = textwrap.dedent(
    """
    import json, sys, time
    from glasspane.store import SCHEMA_VERSION, Store, StoreBusy
    store, name = Store(sys.argv[1]), sys.argv[2]
    def bump(i):
        def fn(con):  # replaces a row, as a collect replaces its cursors: collides with any other write here
            con.execute("DELETE FROM raw.meta WHERE key = ?", [name])
            con.execute("INSERT INTO raw.meta VALUES (?, ?)", [name, str(i)])
            time.sleep(0.3)  # long enough for the other writers' transactions to overlap this one
        return fn
    for i in range(6):
        store.write(bump(i))
    print(json.dumps({"retried": store.writes.retried, "turns": store.writes.turns}))
    """
)


def test_writers_of_a_scaled_store_take_turns_instead_of_colliding(scaled):
    scaled.ensure_current()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, scaled.location.setting, f"writer_{n}"],
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(3)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0], outputs
    results = [json.loads(output.splitlines()[-1]) for output in outputs]
    # every write landed once, each in its turn: none was lost to another and run again (racing, the
    # three writers lose several writes each)
    assert rows(scaled, "SELECT key, value FROM raw.meta WHERE key LIKE 'writer_%' ORDER BY key") == [
        (f"writer_{n}", "5") for n in range(3)
    ]
    assert results == [{"retried": 0, "turns": 6}] * 3


def test_a_writer_that_keeps_its_turn_too_long_makes_the_next_give_up_in_one_line(scaled):
    scaled.ensure_current()
    holding, release = threading.Event(), threading.Event()

    def hold(con) -> None:
        holding.set()
        release.wait(60)

    holder = threading.Thread(target=scaled.write, args=(hold,))
    holder.start()
    try:
        assert holding.wait(60)
        impatient = Store(scaled.location, lock_timeout_s=1)
        with pytest.raises(StoreBusy, match=r"^postgres://\S+: another writer kept its turn over 1 s$"):
            impatient.write(lambda con: con.execute("INSERT INTO raw.meta VALUES ('impatient', '1')"))
    finally:
        release.set()
        holder.join(60)
    scaled.write(lambda con: con.execute("INSERT INTO raw.meta VALUES ('patient', '1')"))  # the turn is free again
    assert rows(scaled, "SELECT key FROM raw.meta WHERE key IN ('impatient', 'patient')") == [("patient",)]


def test_two_dashboard_replicas_show_the_same_scaled_store(scaled, demo_store, tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "collectors",
            "store",
            "copy",
            "--store",
            str(demo_store.path),
            "--to",
            scaled.location.setting,
        ],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
    )
    url = scaled.location.setting
    with dashboard(url) as first, dashboard(url) as second, chromium() as browser:
        page = browser.new_page()
        counts = dict(rows(scaled, "SELECT health, count(*) FROM pipelines GROUP BY 1"))
        assert counts["failing"] == 1  # the demo's hr_export
        for replica in (first, second):
            open_page(page, replica)
            assert page.get_by_text("This page could not be shown").count() == 0, replica
            metrics = page.locator('[data-testid="stMetric"]')
            for state, label in (("failing", "Failing"), ("healthy", "Healthy")):  # both show what the store holds
                expect(metrics.filter(has_text=label)).to_contain_text(str(counts[state]))
            expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()


def test_store_copy_moves_an_embedded_store_into_a_scaled_one_and_back(scaled, demo_store, tmp_path):
    url = scaled.location.setting
    source = clone(demo_store, tmp_path / "laptop.lake")
    back = tmp_path / "back.lake"
    for origin, target in ((str(source.path), url), (url, str(back))):
        done = subprocess.run(
            [sys.executable, "-m", "collectors", "store", "copy", "--store", origin, "--to", target],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert "copied" in done.stdout and os.environ["PGPASSWORD"] not in done.stdout + done.stderr
    for view in ("runs", "pipelines", "columns", "locations", "table_counts"):
        assert rows(Store(back), f"SELECT * FROM {view} ORDER BY ALL") == rows(
            source, f"SELECT * FROM {view} ORDER BY ALL"
        ), view


def newer_glasspane(folder: Path) -> Path:
    """A copy of this Glasspane as its next release would be: one more migration, the schema version raised."""
    import shutil

    for package in ("glasspane", "collectors"):
        shutil.copytree(PROJECT_DIR / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "glasspane/store/migrations/9990_next_release.sql").write_text(
        "CREATE TABLE IF NOT EXISTS raw.next_release (note TEXT);\n"
    )
    code = folder / "glasspane/store/__init__.py"
    code.write_text(
        code.read_text().replace(f"SCHEMA_VERSION = {SCHEMA_VERSION}\n", f"SCHEMA_VERSION = {SCHEMA_VERSION + 1}\n")
    )
    return folder


def collect_with(code: Path, config: Path, target: Store) -> subprocess.CompletedProcess:
    """`python -m collectors collect` of the Glasspane at `code`, as a machine running it would."""
    return subprocess.run(
        collect_command(config, target),
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def read(target: Store, sql: str) -> list[tuple]:
    """Rows of a store whatever its schema (`rows` would have this code migrate it first)."""
    with contextlib.closing(lake.attach(target.location, read_only=True)) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("engine", ["embedded", "scaled"])
def test_a_store_a_newer_glasspane_migrated_is_refused_by_an_older_one_and_left_as_it_is(engine, request, tmp_path):
    """Machines upgrade one by one: an older collector must neither write the newer schema nor take the store
    back to its own (each would then migrate it again, and summarise it anew, at every collect)."""
    target = request.getfixturevalue("store" if engine == "embedded" else "scaled")
    newer = newer_glasspane(tmp_path / "newer")
    bucket, pipelines = tmp_path / "bucket", tmp_path / "pipelines"
    bucket.mkdir()
    config = config_for(tmp_path, bucket)
    add_loads(bucket, pipelines, 0)
    assert collect_with(PROJECT_DIR, config, target).returncode == 0
    upgraded = collect_with(newer, config, target)  # the first machine upgraded
    assert upgraded.returncode == 0, upgraded.stderr
    migrated = read(target, "SELECT name, applied_at FROM raw.migrations ORDER BY name")
    assert migrated[-1][0] == "9990_next_release"
    version = target.version()

    add_loads(bucket, pipelines, 1)
    older = collect_with(PROJECT_DIR, config, target)  # a machine not upgraded yet
    assert older.returncode == 1, older.stderr
    assert older.stderr.splitlines() == [
        f"error: store {target}: a newer Glasspane migrated it (schema version {SCHEMA_VERSION + 1}; this one knows "
        f"schema version {SCHEMA_VERSION}): upgrade Glasspane on this machine; the store was left as it is"
    ]
    assert target.version() == version  # nothing written: no run, no migration, no summary
    lock = target.path.with_name(target.path.name + ".lock") if target.path else None
    stamp = lock.stat().st_mtime_ns if lock else None
    older_dashboard = Store(target.location)
    with pytest.raises(StoreTooNew, match="a newer Glasspane migrated it"):
        older_dashboard.ensure_current()  # what an older dashboard does before its reads, page after page
    assert older_dashboard.writes.turns == 0  # it found out by reading: no writer's turn, which other writers wait for
    assert (lock.stat().st_mtime_ns if lock else None) == stamp  # nor an embedded store's lock

    again = collect_with(newer, config, target)  # the upgraded machine collects on, without migrating again
    assert again.returncode == 0, again.stderr
    assert read(target, "SELECT name, applied_at FROM raw.migrations ORDER BY name") == migrated
    assert read(target, "SELECT count(*), count(DISTINCT run_key) FROM runs") == [(12, 12)]


def test_a_store_url_with_a_password_is_refused_in_one_line_without_echoing_it(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "collectors",
            "alerts",
            "--dry-run",
            "--store",
            "postgres://glasspane:Hunter2-s3cret@127.0.0.1:5/pane?data_path=s3://pane/x/",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "PGPASSWORD" in line and "Hunter2-s3cret" not in done.stdout + done.stderr

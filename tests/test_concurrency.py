"""The dashboard keeps reading while a collect writes the store in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import dlt
from streamlit.testing.v1 import AppTest

from glasspane.settings import PROJECT_DIR
from glasspane.store import lake
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source

HOLD_WRITER = textwrap.dedent(
    """
    import sys, time
    from glasspane.store import Store
    with Store(sys.argv[1]).writer() as con:
        con.execute("UPDATE raw.sources SET error = 'written by the slow writer'")
        print("writing", flush=True)
        time.sleep(float(sys.argv[2]))
    print("done", flush=True)
    """
)


def test_readers_and_the_app_are_not_blocked_while_another_process_writes(tmp_path, store, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(warehouse)), "crm")
    fx.run(p, fx.users(2))
    collect_into(store, source("wh", "duckdb", path=str(warehouse)))

    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(store.path), "10"],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "writing"
    reads = 0
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert rows(store, "SELECT count(*) FROM runs") == [(1,)]  # the complete store, read-only
        reads += 1
    monkeypatch.setenv("GLASSPANE_STORE", str(store.path))
    app = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=30).run()
    assert not app.exception
    assert len(app.dataframe[0].value) == 1  # the Overview lists the store's one pipeline
    assert writer.poll() is None, "the writer should still be writing"
    assert writer.wait(timeout=30) == 0
    assert reads > 10
    assert rows(store, "SELECT error FROM sources") == [("written by the slow writer",)]  # then its change shows


def test_a_real_collect_in_another_process_never_breaks_a_reader(tmp_path, store):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    for name in ("a", "b", "c"):
        p = fx.pipeline(name, tmp_path / "pipelines", dlt.destinations.filesystem(bucket.as_uri()), name)
        for start in range(0, 6, 2):
            fx.run(p, fx.users(2, start=start))
    config = tmp_path / "glasspane.toml"
    config.write_text(f'[[sources]]\nname = "lake"\nkind = "filesystem"\nbucket_url = "{bucket.as_uri()}"\n')
    store.ensure_current()

    env = {**os.environ, "GLASSPANE_CONFIG": str(config), "GLASSPANE_STORE": str(store.path)}
    collect = subprocess.Popen(
        [sys.executable, "-m", "collectors", "collect", "--quiet"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = set()
    while collect.poll() is None:
        seen.add(rows(store, "SELECT count(*) FROM runs")[0][0])
        time.sleep(0.02)
    output = collect.stdout.read()
    assert collect.returncode == 0, output
    seen.add(rows(store, "SELECT count(*) FROM runs")[0][0])
    assert seen <= {0, 9} and 9 in seen  # always a complete store: before, or after


ONE_WRITE = textwrap.dedent(
    """
    import sys
    from glasspane.store import Store
    Store(sys.argv[1]).write(lambda con: con.execute("INSERT INTO raw.meta VALUES ('probe', ?)", [sys.argv[2]]))
    """
)


def test_a_read_in_progress_keeps_its_catalog_log_while_other_processes_write_and_end(store):
    """SQLite deletes a catalog's write-ahead log and its index when the last process using the catalog
    closes it, and tells that by file locks. A process in the middle of a read (a page run) must keep its
    locks: when it opened the catalog file any other way too, it dropped them, and each collect that
    ended deleted the log under its readers, which then failed ("database disk image is malformed")."""
    store.ensure_current()
    with store.reader() as reading:
        reading.begin()  # one read, open until it ends
        assert reading.execute("SELECT count(*) FROM raw.meta WHERE key = 'probe'").fetchall() == [(0,)]
        for n in range(3):
            assert store.exists() and store.is_current()  # what a page asks before reading
            subprocess.run([sys.executable, "-c", ONE_WRITE, str(store.path), str(n)], cwd=PROJECT_DIR, check=True)
            assert os.path.exists(f"{store.path}-wal"), "the writer took itself for the catalog's last user"
            assert rows(store, "SELECT count(*) FROM raw.meta WHERE key = 'probe'") == [(n + 1,)]
        assert reading.execute("SELECT count(*) FROM raw.meta WHERE key = 'probe'").fetchall() == [(0,)]
        reading.commit()


def test_a_reader_asks_which_snapshot_it_reads_only_once_another_process_committed(store, monkeypatch):
    """Asking DuckLake which snapshot this process's attach reads takes 30 ms, and each read asks whether it
    fell behind: it is asked only when a snapshot was committed since the attach was last found current,
    and a read still sees what another process wrote."""
    store.ensure_current()
    probes = "SELECT count(*) FROM raw.meta WHERE key = 'probe'"
    assert rows(store, probes) == [(0,)]
    asked: list[str] = []
    ask = lake._value
    monkeypatch.setattr(lake, "_value", lambda con, sql: asked.append(sql) or ask(con, sql))
    for _ in range(3):
        assert rows(store, probes) == [(0,)]
    assert not [sql for sql in asked if "current_snapshot" in sql]
    subprocess.run([sys.executable, "-c", ONE_WRITE, str(store.path), "0"], cwd=PROJECT_DIR, check=True)
    for _ in range(3):
        assert rows(store, probes) == [(1,)]
    assert len([sql for sql in asked if "current_snapshot" in sql]) == 1


def test_readers_in_other_threads_never_fail_while_this_process_writes(store):
    """The dashboard's sessions read through one connection per process while a session writes (a PII
    decision, Collect now); a write, or a reader finding the store moved on, starts that connection afresh.
    Closing the old one under a running query failed it ("Connection already closed"): it is let go instead."""
    store.ensure_current()
    errors: list[str] = []
    reads = 0
    done = threading.Event()

    def read() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                with store.reader() as con:
                    con.execute("SELECT count(*) FROM raw.meta").fetchall()
                reads += 1
            except Exception as ex:  # what a session would show
                errors.append(f"{type(ex).__name__}: {ex}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        n = 0
        while n < 30 or (reads <= 30 and n < 300):  # at least 30 writes, and until the readers have read beside them
            store.write(lambda con, n=n: con.execute("INSERT INTO raw.meta VALUES ('probe', ?)", [str(n)]))
            n += 1
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert reads > 30 and errors == []

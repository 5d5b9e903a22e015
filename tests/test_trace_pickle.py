"""No code from metadata: a trace.pickle is read without running anything it asks for."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys

import dlt
import pytest

from collectors.traces import UnsafeTrace, load_trace_safely, records_from_trace, trace_as_dict
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source


class _WritesMarker:
    """What an attacker would write into a pipelines folder: unpickling it calls `os.system`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _RunsPython:
    """The same through `subprocess`, for a reader that only blocks `os`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return subprocess.call, ([sys.executable, "-c", f"open({str(self.marker)!r}, 'w')"],)


@pytest.mark.parametrize("payload", [_WritesMarker, _RunsPython])
def test_a_trace_pickle_with_a_payload_runs_nothing_and_is_reported_in_one_line(tmp_path, store, payload):
    pipelines = tmp_path / "pipelines"
    p = fx.pipeline("crm", pipelines, dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    marker = tmp_path / "marker"
    (pipelines / "crm" / "trace.pickle").write_bytes(pickle.dumps(payload(marker)))

    with contextlib.suppress(UnsafeTrace):
        load_trace_safely(pipelines / "crm" / "trace.pickle")
    summary = collect_into(store, source("folder", "pipelines_dir", path=str(pipelines)))

    assert not marker.exists()
    [outcome] = summary.outcomes
    assert outcome.errors == [f"source 'folder': {pipelines / 'crm' / 'trace.pickle'}: unsafe trace.pickle, not read"]
    assert rows(store, "SELECT status FROM runs") == [("completed",)]  # the kept load package still counts


def test_a_payload_inside_a_real_trace_is_refused_too(tmp_path):
    """A real trace whose step info carries a payload: refused as a whole, nothing of it runs."""
    p = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.duckdb(str(tmp_path / "w.duckdb")), "crm")
    fx.run(p, fx.users(2), load_trace=False)
    marker = tmp_path / "marker"
    trace = p.last_trace
    step = trace.steps[0]._replace(step_exception=_WritesMarker(marker))
    path = tmp_path / "trace.pickle"
    path.write_bytes(pickle.dumps(trace._replace(steps=[step, *trace.steps[1:]])))
    with pytest.raises(UnsafeTrace, match="posix.system"):
        load_trace_safely(path)
    assert not marker.exists()


def test_getattr_reaches_only_what_a_timezone_pickle_needs(tmp_path):
    """`getattr` (how zoneinfo pickles `Timezone._unpickle`) for any other attribute is refused."""
    path = tmp_path / "trace.pickle"
    path.write_bytes(b"cbuiltins\ngetattr\n(cpendulum.tz.timezone\nTimezone\nS'from_file'\ntR.")
    with pytest.raises(UnsafeTrace, match="getattr of 'from_file'"):
        load_trace_safely(path)


def test_real_traces_read_safely_give_what_dlt_reading_them_gives(tmp_path):
    """Successful and failed runs (extract, normalize) of real pipelines: the same records as dlt's load_trace."""
    from dlt.pipeline.trace import load_trace

    pipelines = tmp_path / "pipelines"
    warehouse = dlt.destinations.duckdb(str(tmp_path / "w.duckdb"))
    fx.run(fx.pipeline("ok", pipelines, warehouse, "ok"), fx.users(3), load_trace=False)
    fx.run_failing(fx.pipeline("extract", pipelines, warehouse, "extract"))

    @dlt.resource(name="orders", columns={"amount": {"data_type": "bigint"}, "amount__v_text": {"data_type": "bigint"}})
    def orders():
        yield [{"id": 1, "amount": 5}, {"id": 2, "amount": "not a number"}]

    with contextlib.suppress(Exception):
        fx.pipeline("normalize", pipelines, warehouse, "normalize").run(orders())
    for name in ("ok", "extract", "normalize"):
        folder = pipelines / name
        expected = records_from_trace(trace_as_dict(load_trace(str(folder), ignore_errors=False)), "trace", "x")
        read = records_from_trace(trace_as_dict(load_trace_safely(folder / "trace.pickle")), "trace", "x")
        assert read == expected and read.runs

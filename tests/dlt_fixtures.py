"""Real dlt pipelines for test fixtures: every piece of metadata a test reads was written by dlt."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt

PII_COLUMNS = {"email": {"x-annotation-pii": "email"}, "phone": {"x-pii": True}}
NESTED_PII = {
    "addresses": {"columns": {"street": {"name": "street", "data_type": "text", "x-annotation-pii": "address"}}}
}


def users(n: int = 3, start: int = 0, extra_column: bool = False) -> Any:
    """A `users` resource with PII hints on top-level columns and on the nested `addresses` table."""

    @dlt.resource(name="users", primary_key="id", columns=PII_COLUMNS, nested_hints=NESTED_PII)
    def _users() -> Iterator[dict[str, Any]]:
        for i in range(start, start + n):
            row = {"id": i, "email": f"u{i}@example.com", "phone": "123", "addresses": [{"street": "s", "city": "c"}]}
            if extra_column:
                row["nickname"] = f"nick{i}"
            yield row

    return _users


def failing(message: str = "upstream API answered 500") -> Any:
    """A resource that fails during extract, after yielding one row."""

    @dlt.resource(name="orders")
    def _orders() -> Iterator[dict[str, Any]]:
        yield {"id": 1}
        raise RuntimeError(message)

    return _orders


def pipeline(name: str, pipelines_dir: Path, destination: Any, dataset: str) -> dlt.Pipeline:
    """A pipeline with its working folder under `pipelines_dir`."""
    return dlt.pipeline(name, destination=destination, dataset_name=dataset, pipelines_dir=str(pipelines_dir))


def run(p: dlt.Pipeline, data: Any, load_trace: bool = True, **kwargs: Any) -> Any:
    """Run, then (dlt's documented pattern) load the run's trace into the same destination."""
    info = p.run(data, **kwargs)
    if load_trace:
        p.run([p.last_trace], table_name="_trace")
    return info


def run_failing(p: dlt.Pipeline, message: str = "upstream API answered 500", load_trace: bool = False) -> None:
    """Run a resource that fails; optionally load the failed run's trace into the destination."""
    with contextlib.suppress(Exception):
        p.run(failing(message))
    if load_trace:
        p.run([p.last_trace], table_name="_trace")

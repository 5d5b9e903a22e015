"""`python -m collectors demo`: realistic demo data made by running real dlt pipelines.

Four pipelines load into three kinds of place: a DuckDB warehouse, a filesystem "bucket"
(one dataset with a custom layout), and all of them keep their working folders in one local
pipelines folder. Today's runs are real dlt runs (one evolves its schema, one fails, PII hints
sit on top-level and nested columns) and each loads its trace into its destination with dlt's
documented `_trace` pattern. Older history (35 days) is written in dlt's exact formats: the
traces of today's real runs, moved back in time with other row counts, loaded through dlt
itself, plus the matching `_dlt_loads` rows.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import os
import random
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glasspane.demo.views_and_models import add_views_and_models
from glasspane.settings import environment

HISTORY_DAYS = 35
SEED = 7


@dataclass
class DemoPipeline:
    """One demo pipeline: where it loads, where it pretends to run, and its daily volume."""

    name: str
    dataset: str
    place: str  # "duckdb" | "filesystem"
    environment: dict[str, str]
    every_hours: int
    volumes: dict[str, int]  # table -> typical rows per load
    anomalies: dict[int, float] = field(default_factory=dict)  # days ago -> volume factor
    failures_days_ago: tuple[int, ...] = ()
    layout: str | None = None


PIPELINES = (
    DemoPipeline(
        "crm_sync",
        "crm",
        "duckdb",
        {"KUBE_POD_NAME": "crm-sync-7f9c"},
        24,
        {"customers": 220, "customers__addresses": 260},
        anomalies={4: 6.0},
    ),
    DemoPipeline(
        "billing_sync",
        "billing",
        "duckdb",
        {"AWS_LAMBDA_FUNCTION_NAME": "billing-sync"},
        24,
        {"invoices": 800},
        anomalies={12: 0.3},
    ),
    DemoPipeline(
        "web_events",
        "events",
        "filesystem",
        {"GITHUB_ACTIONS": "true", "CI": "true"},
        6,
        {"page_views": 5200},
        anomalies={9: 0.0},
    ),
    DemoPipeline(
        "hr_export",
        "hr",
        "filesystem",
        {},
        24,
        {"employees": 40},
        failures_days_ago=(17, 16),
        layout="{schema_name}/{table_name}/{load_id}.{file_id}.{ext}",
    ),
)


def _people(rng: random.Random, n: int, start: int) -> list[dict[str, Any]]:
    first = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Radia", "Edsger", "Frances"]
    last = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Perlman"]
    people = []
    for i in range(start, start + n):
        f, la = rng.choice(first), rng.choice(last)
        people.append({"id": i, "first": f, "last": la, "email": f"{f}.{la}{i}@example.com".lower()})
    return people


def crm_resource(dlt: Any, rng: random.Random, n: int, start: int) -> Any:
    """Customers with PII hints on top-level columns and on a nested child table."""

    @dlt.resource(
        name="customers",
        primary_key="id",
        write_disposition="merge",
        columns={"email": {"x-annotation-pii": "email"}, "phone": {"x-annotation-pii": "phone"}},
        nested_hints={
            "addresses": {"columns": {"street": {"name": "street", "data_type": "text", "x-annotation-pii": "address"}}}
        },
    )
    def customers() -> Iterator[dict[str, Any]]:
        for p in _people(rng, n, start):
            address = {"street": f"{rng.randint(1, 200)} Demo Street", "city": rng.choice(["Leeds", "Lyon"])}
            yield {
                "id": p["id"],
                "name": f"{p['first']} {p['last']}",
                "email": p["email"],
                "phone": f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                "segment": rng.choice(["smb", "mid", "enterprise"]),
                "addresses": [address],
            }

    return customers


def billing_resource(dlt: Any, rng: random.Random, n: int, start: int, evolved: bool) -> Any:
    """Invoices; the evolved version adds a discount and an untagged customer e-mail column."""

    @dlt.resource(name="invoices", primary_key="invoice_id", write_disposition="append")
    def invoices() -> Iterator[dict[str, Any]]:
        for i in range(start, start + n):
            row = {
                "invoice_id": i,
                "customer_id": rng.randint(1, 500),
                "amount": round(rng.uniform(10, 900), 2),
                "currency": rng.choice(["EUR", "GBP", "USD"]),
            }
            if evolved:
                row["discount"] = round(rng.uniform(0, 0.2), 2)
                row["customer_email"] = f"billing{i}@example.com"
            yield row

    return invoices


def web_resource(dlt: Any, rng: random.Random, n: int) -> Any:
    """Page views with a tagged IP address."""

    @dlt.resource(name="page_views", write_disposition="append", columns={"ip_address": {"x-pii": True}})
    def page_views() -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {
                "view_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "path": rng.choice(["/", "/pricing", "/docs"]),
                "ip_address": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "duration_ms": rng.randint(50, 30000),
                "seq": i,
            }

    return page_views


def hr_resource(dlt: Any, rng: random.Random, n: int, fail: bool) -> Any:
    """Employees (names and birth dates tagged, an IBAN not); `fail` makes the HR API refuse."""

    @dlt.resource(
        name="employees",
        primary_key="employee_id",
        write_disposition="replace",
        columns={"full_name": {"x-annotation-pii": "name"}, "birth_date": {"x-annotation-pii": "date_of_birth"}},
    )
    def employees() -> Iterator[dict[str, Any]]:
        if fail:
            raise RuntimeError("HR API answered 401 Unauthorized: the export token has expired")
        for p in _people(rng, n, 1):
            yield {
                "employee_id": p["id"],
                "full_name": f"{p['first']} {p['last']}",
                "birth_date": dt.date(1970 + rng.randint(0, 30), rng.randint(1, 12), rng.randint(1, 28)),
                "department": rng.choice(["eng", "ops", "sales"]),
                "iban": f"DE{rng.randint(10**19, 10**20 - 1)}",
            }

    return employees


def _walk(value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    return fn(value)


def moved_trace(
    template: dict[str, Any], when: dt.datetime, load_id: str | None, counts: dict[str, int]
) -> dict[str, Any]:
    """A real trace (`PipelineTrace.asdict()`) moved to another time, load id and row counts."""
    old_start = template["started_at"]
    old_ids = {str(i) for s in template["steps"] for i in (s.get("step_info") or {}).get("loads_ids") or []}
    delta = when - old_start

    def move(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value + delta
        if isinstance(value, float) and abs(value - old_start.timestamp()) < 3600:
            return value + delta.total_seconds()
        if isinstance(value, str) and load_id:
            for old in old_ids:
                value = value.replace(old, load_id)
        return value

    trace = _walk(copy.deepcopy(template), move)
    trace["transaction_id"] = uuid.uuid4().hex
    for step in trace["steps"]:
        for metric_list in ("table_metrics", "job_metrics"):
            for metric in (step.get("normalize_info") or {}).get(metric_list) or []:
                if metric.get("table_name") in counts:
                    metric["items_count"] = counts[metric["table_name"]]
    return trace


def _volume(spec: DemoPipeline, rng: random.Random, table: str, days_ago: int, index: int) -> int:
    base = spec.volumes[table] * (1 + 0.004 * (HISTORY_DAYS - days_ago))  # slow growth
    factor = spec.anomalies.get(days_ago, 1.0) if index == 0 else 1.0
    return max(0, int(base * factor * rng.uniform(0.9, 1.1)))


class DemoBuilder:
    """Builds the demo places under one folder and returns the config that collects them."""

    def __init__(self, folder: Path, progress: Callable[[str], None] = print):
        self.folder = folder
        self.progress = progress
        self.pipelines_dir = folder / "pipelines"
        self.warehouse = folder / "warehouse.duckdb"
        self.bucket = folder / "bucket"
        self.rng = random.Random(SEED)
        self.now = dt.datetime.now(dt.UTC)

    def build(self) -> Path:
        """Run the demo pipelines and write `glasspane.toml` for them; returns the config path."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self.bucket.mkdir()
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
        for spec in PIPELINES:
            self.progress(f"running {spec.name} → {spec.place}")
            self._build_pipeline(spec)
        self.progress("adding views and models over the CRM data")
        governance = add_views_and_models(self.warehouse, self.folder)
        config = self.folder / "glasspane.toml"
        config.write_text(
            "# Written by `python -m collectors demo`: the demo's three kinds of place.\n"
            f'[[sources]]\nname = "demo_pipelines"\nkind = "pipelines_dir"\npath = "{self.pipelines_dir}"\n\n'
            f'[[sources]]\nname = "demo_warehouse"\nkind = "duckdb"\npath = "{self.warehouse}"\n\n'
            f'[[sources]]\nname = "demo_bucket"\nkind = "filesystem"\nbucket_url = "{self.bucket.as_uri()}"\n'
            "# hr_export writes its data files with a custom layout\n"
            'layouts = { hr = "{schema_name}/{table_name}/{load_id}.{file_id}.{ext}" }\n\n' + governance
        )
        return config

    def _destination(self, spec: DemoPipeline) -> Any:
        import dlt

        if spec.place == "duckdb":
            return dlt.destinations.duckdb(str(self.warehouse))
        return (
            dlt.destinations.filesystem(self.bucket.as_uri(), layout=spec.layout)
            if spec.layout
            else dlt.destinations.filesystem(self.bucket.as_uri())
        )

    def _pipeline(self, spec: DemoPipeline) -> Any:
        import dlt

        return dlt.pipeline(
            spec.name,
            destination=self._destination(spec),
            dataset_name=spec.dataset,
            pipelines_dir=str(self.pipelines_dir),
        )

    def _data(self, spec: DemoPipeline, run: int) -> Any:
        import dlt

        rng = self.rng
        if spec.name == "crm_sync":
            return crm_resource(dlt, rng, spec.volumes["customers"], 1000 * run)
        if spec.name == "billing_sync":
            return billing_resource(dlt, rng, spec.volumes["invoices"], 1000 * run, evolved=run > 0)
        if spec.name == "web_events":
            return web_resource(dlt, rng, spec.volumes["page_views"] // 10)
        return hr_resource(dlt, rng, spec.volumes["employees"], fail=run > 1)

    def _build_pipeline(self, spec: DemoPipeline) -> None:
        pipeline = self._pipeline(spec)
        with environment(**spec.environment):  # dlt reads these into the trace's execution context
            pipeline.run(self._data(spec, 0))
            template = pipeline.last_trace.asdict()
            pipeline.run([pipeline.last_trace], table_name="_trace")
            failed_template = None
            if spec.failures_days_ago:
                with contextlib.suppress(Exception):
                    pipeline.run(self._data(spec, 2))
                failed_template = pipeline.last_trace.asdict()
            schema = pipeline.default_schema
            version_hash = schema.version_hash
            history, loads = self._history(spec, template, failed_template)
            pipeline.run(history, table_name="_trace")  # older traces, normalised by dlt itself
            self._write_loads(spec, schema.name, version_hash, loads)
            pipeline.run(self._data(spec, 1))  # today's last good run (billing evolves its schema)
            pipeline.run([pipeline.last_trace], table_name="_trace")
            if spec.failures_days_ago:  # and today it fails again: only its working folder knows
                with contextlib.suppress(Exception):
                    pipeline.run(self._data(spec, 2))

    def _history(
        self, spec: DemoPipeline, template: dict[str, Any], failed: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], list[tuple[str, dt.datetime]]]:
        traces, loads = [], []
        for days_ago in range(HISTORY_DAYS, 0, -1):
            for index in range(24 // spec.every_hours):
                when = (self.now - dt.timedelta(days=days_ago)).replace(
                    hour=2 + index * spec.every_hours, minute=self.rng.randint(0, 20)
                )
                if days_ago in spec.failures_days_ago and failed is not None:
                    traces.append(moved_trace(failed, when, f"{when.timestamp():.6f}", {}))
                    continue
                load_id = f"{when.timestamp():.6f}"
                counts = {t: _volume(spec, self.rng, t, days_ago, index) for t in spec.volumes}
                traces.append(moved_trace(template, when, load_id, counts))
                loads.append((load_id, when + dt.timedelta(seconds=self.rng.randint(20, 240))))
        return traces, loads

    def _write_loads(
        self, spec: DemoPipeline, schema_name: str, version_hash: str, loads: list[tuple[str, dt.datetime]]
    ) -> None:
        """Write `_dlt_loads` rows exactly as dlt's destinations write them."""
        if spec.place == "duckdb":
            import duckdb

            with contextlib.closing(duckdb.connect(str(self.warehouse))) as con:
                con.executemany(
                    f'INSERT INTO "{spec.dataset}"."_dlt_loads" VALUES (?, ?, 0, ?, ?)',
                    [[load_id, schema_name, inserted, version_hash] for load_id, inserted in loads],
                )
            return
        folder = self.bucket / spec.dataset / "_dlt_loads"
        for load_id, inserted in loads:
            row = {
                "load_id": load_id,
                "schema_name": schema_name,
                "status": 0,
                "inserted_at": inserted.isoformat(),
                "schema_version_hash": version_hash,
            }
            (folder / f"{schema_name}__{load_id}.jsonl").write_text(json.dumps(row, separators=(",", ":")))


def build_demo(folder: Path, progress: Callable[[str], None] = print) -> Path:
    """Build the demo data under `folder`; returns the path of its `glasspane.toml`."""
    return DemoBuilder(folder, progress).build()

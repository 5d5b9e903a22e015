"""Benchmark: an organisation on a scaled store. Each figure is printed beside its goal.

    .venv/bin/python -m benchmarks.org [--projects 40] [--datasets 50] [--shards 4] [--rounds 10]
                                       [--latency-ms 20] [--repeat 3]

`--projects` buckets on `moto_server`, one a project as in a cloud organisation, hold `--datasets` dlt
datasets each: the metadata of one real dlt run, copied under new load ids. (A bucket a project, not
a prefix a project in one bucket: moto lists a prefix by reading every key of its bucket, about
50 ms a listing at 30,000 keys and 250 ms at 100,000, where S3 lists from an index.) Every request
of the collectors passes a recording proxy that waits `--latency-ms` first, as a cloud API would.
The store is scaled: its catalog in a PostgreSQL server started here (Debian's), its files in a
bucket of the same `moto_server`.

1. One collector collects every project; then each of `--shards` shards alone into a fresh store;
   then all shards at once into another: they should finish within 1.3× of the slowest alone. Last,
   all shards at once again, each into a store of its own: what they take when their writes share
   nothing, so the difference is what sharing one store costs.
2. A no-change collect of every dataset: its listings (at most one per dataset, plus one), as sources that
   look for new datasets in their prefix and as sources that name their datasets.
3. `--rounds` rounds add a load to every dataset and collect with the shards at once, while two
   reader processes query the store: no run lost or duplicated, no failed read. Each round prints
   its seconds, its writes' own seconds (waiting for turns excluded) and the live files of the
   store's most crowded table: flat rounds mean a write costs what it adds.
4. Every page on the scaled store beside the same page on an embedded copy of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from benchmarks.collect import make_template, verdict
from glasspane.settings import environment
from glasspane.store import Store
from glasspane.store.maintenance import table_files
from tests.servers import MotoS3, Postgres, Recorded, RecordingProxy

PROJECT = Path(__file__).resolve().parent.parent
STORE_BUCKET = "pane"


class Organisation:
    """The projects' datasets on S3, written straight to moto (the proxy only sees the collectors)."""

    def __init__(self, s3: MotoS3, template: Path, projects: int, datasets: int):
        self.client = s3.client()
        for p in range(projects):
            self.client.create_bucket(Bucket=bucket(p))
        self.template = template
        self.projects, self.datasets = projects, datasets
        files = [p for p in template.rglob("*") if p.is_file()]
        [loads] = list((template / "_dlt_loads").iterdir())
        self.load_row = json.loads(loads.read_text().splitlines()[0])
        self.template_id = self.load_row["load_id"]
        self.static = [p for p in files if self.template_id not in p.name or "_dlt_pipeline_state" in str(p)]
        self.per_load = [p for p in files if self.template_id in p.name and "_dlt_pipeline_state" not in str(p)]
        self.base = time.time() - 2 * 86400

    def _put(self, p: int, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=bucket(p), Key=key, Body=body)

    def _dataset_files(self, p: int, d: int, load: int, static: bool) -> list[tuple[int, str, bytes]]:
        prefix = f"ds_{d:02d}"
        load_id = f"{self.base + (p * self.datasets + d) * 0.001 + load * 900:.6f}"
        out = [(p, f"{prefix}/{f.relative_to(self.template)}", f.read_bytes()) for f in self.static] if static else []
        for f in self.per_load:
            rel = str(f.relative_to(self.template)).replace(self.template_id, load_id)
            body = json.dumps({**self.load_row, "load_id": load_id}).encode() if "_dlt_loads" in rel else f.read_bytes()
            out.append((p, f"{prefix}/{rel}", body))
        return out

    def add_load(self, load: int) -> int:
        """One more load in every dataset (the first call also writes dlt's version and state files)."""
        items = [
            item
            for p in range(self.projects)
            for d in range(self.datasets)
            for item in self._dataset_files(p, d, load, static=load == 0)
        ]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda item: self._put(*item), items))
        return self.projects * self.datasets


def bucket(project: int) -> str:
    """The bucket of one project."""
    return f"org-p{project:02d}"


def is_listing(request: Recorded) -> bool:
    """A listing of a bucket's keys (version 2, or version 1: a GET of the bucket itself)."""
    return "list-type" in request.query or "/" not in request.path.strip("/")


def write_config(folder: Path, projects: int, datasets: int | None = None) -> Path:
    """One source a project; with `datasets`, each source names its datasets (no listing of its prefix)."""
    named = "" if datasets is None else f"datasets = {json.dumps([f'ds_{d:02d}' for d in range(datasets)])}\n"
    config = folder / ("org.toml" if datasets is None else "org_named.toml")
    config.write_text(
        "".join(
            f'[[sources]]\nname = "p{p:02d}"\nkind = "filesystem"\nbucket_url = "s3://{bucket(p)}"\n{named}\n'
            for p in range(projects)
        )
    )
    return config


def collect(config: Path, store: str, sources: list[str]) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "collectors",
        "collect",
        "--config",
        str(config),
        "--store",
        store,
        "--quiet",
        "--source",
        *sources,
    ]
    return subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children: bool) -> float:
    """CPU seconds of a live process (user + system), with its reaped children's when `children`."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / TICK


def _tree_cpu(root: int) -> float:
    """CPU seconds of a server: its process, the children it reaped, and the children still running."""
    total = _proc_cpu(root, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == root:
            total += _proc_cpu(int(stat.parent.name), children=False)
    return total


@dataclass
class Run:
    """One set of collects run at the same time: wall seconds, and where the machine's CPU went."""

    seconds: float
    collectors: list[float]  # CPU seconds of each collect process
    servers: dict[str, float]  # CPU seconds of moto_server, PostgreSQL and the latency proxy meanwhile
    writes: list[str]  # each collect's own account of its store writes
    maintained: list[str]  # what each collect that maintained or compacted the store says it did
    machine: float  # CPU seconds the whole machine spent meanwhile, every process counted (other users' too)

    @property
    def cpu(self) -> float:
        return sum(self.collectors) + sum(self.servers.values())

    def describe(self) -> str:
        """CPU seconds beside the wall time: where the cores went, and how busy they were."""
        servers = ", ".join(f"{name} {cpu:.1f}" for name, cpu in self.servers.items())
        capacity = self.seconds * CORES
        return (
            f"CPU s: collectors {' + '.join(f'{c:.1f}' for c in self.collectors)}, {servers}: "
            f"{self.cpu / capacity:.0%} of {CORES} cores (whole machine {self.machine / capacity:.0%})"
        )


CORES = os.cpu_count() or 1


class Servers:
    """The CPU seconds the servers spent, read from /proc before and after a run."""

    def __init__(self, pg: Postgres, s3: MotoS3):
        postmaster = int((pg.folder / "data" / "postmaster.pid").read_text().split()[0])
        self.pids = {"moto_server": s3.server.process.pid, "PostgreSQL": postmaster}

    def sample(self) -> dict[str, float]:
        cpu = {name: _tree_cpu(pid) for name, pid in self.pids.items()}
        usage = resource.getrusage(resource.RUSAGE_SELF)  # this process: the proxy's threads
        cpu["proxy"] = usage.ru_utime + usage.ru_stime
        user, nice, system, idle, iowait, *rest = map(int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:])
        cpu["machine"] = (user + nice + system + sum(rest[:3])) / TICK  # irq, softirq, steal; idle and iowait out
        return cpu


def timed(config: Path, store: str | list[str], groups: list[list[str]], servers: Servers) -> Run:
    """Run one collect per group at the same time, into `store` (or each into its own of a list); seconds
    until the last finishes, and CPU spent."""
    stores = store if isinstance(store, list) else [store] * len(groups)
    before = servers.sample()
    started = time.perf_counter()
    running = [collect(config, into, group) for into, group in zip(stores, groups, strict=True)]
    cpu, writes, maintained = [], [], []
    for process in running:
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu.append(usage.ru_utime + usage.ru_stime)
        if process.returncode != 0:
            raise RuntimeError(f"collect failed ({process.returncode}):\n{output[-3000:]}")
        store_lines = [line for line in output.splitlines() if line.startswith("store: ")]
        writes += [line.split(" (", 1)[1].removesuffix(")") for line in store_lines]
        maintained += [line for line in output.splitlines() if line.startswith("store maintained: ")]
    seconds = time.perf_counter() - started
    after = servers.sample()
    spent = {name: after[name] - before[name] for name in after}
    run = Run(seconds, cpu, spent, writes, maintained, spent.pop("machine"))
    print(
        f"  {len(groups)} collect(s) at once: {seconds:.1f} s; {run.describe()}; store: {' / '.join(writes)}",
        flush=True,
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3, help="cold runs per page (the median is shown)")
    parser.add_argument("--only-shards", action="store_true", help="stop after step 1 (the shards' timings)")
    args = parser.parse_args()

    pg, s3 = Postgres(), MotoS3()
    latency = args.latency_ms / 1000
    proxy = RecordingProxy(s3.endpoint, fault=lambda request: time.sleep(latency))
    lines: list[str] = []
    try:
        s3.client().create_bucket(Bucket=STORE_BUCKET)
        credentials = s3.credentials(proxy.endpoint)
        env = {
            "PGPASSWORD": pg.password,
            "AWS_ACCESS_KEY_ID": s3.keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": s3.keys.secret_access_key,
            "AWS_ENDPOINT_URL": s3.endpoint,
            "AWS_REGION": "us-east-1",
        }
        for p in range(args.projects):
            env.update({f"SOURCES__P{p:02d}__CREDENTIALS__{k.upper()}": v for k, v in credentials.items()})
        with tempfile.TemporaryDirectory() as tmp, environment(**env):
            folder = Path(tmp)
            org = Organisation(s3, make_template(folder), args.projects, args.datasets)
            started = time.perf_counter()
            datasets = org.add_load(0)
            print(f"{datasets:,} datasets on moto_server in {time.perf_counter() - started:.0f} s", flush=True)
            config = write_config(folder, args.projects)
            names = [f"p{p:02d}" for p in range(args.projects)]
            shards = [names[i :: args.shards] for i in range(args.shards)]

            def scaled(name: str) -> str:
                pg.create_database(name)
                return f"postgres://{pg.USER}@127.0.0.1:{pg.port}/{name}?data_path=s3://{STORE_BUCKET}/{name}/"

            servers = Servers(pg, s3)
            one = timed(config, scaled("one"), [names], servers)
            alone = [timed(config, scaled(f"alone_{i}"), [shard], servers) for i, shard in enumerate(shards)]
            store = scaled("org")
            together = timed(config, store, shards, servers)
            apart = timed(config, [scaled(f"apart_{i}") for i in range(len(shards))], shards, servers)
            slowest = max(alone, key=lambda run: run.seconds)
            ratio = together.seconds / slowest.seconds
            floor = together.cpu / CORES  # the run's CPU seconds (simulated servers included), every core busy
            lines += [
                f"**{args.projects} projects × {args.datasets} datasets = {datasets:,} datasets**, "
                f"{args.latency_ms:g} ms per request, scaled store (PostgreSQL catalog, files on moto_server), "
                f"{CORES} cores shared by the collectors, moto_server, PostgreSQL and the proxy:",
                "",
                "| measure | figure | goal | |",
                "|---|---:|---|---|",
                f"| 1 collector, every project | {one.seconds:.1f} s; {one.describe()} | | |",
                f"| each of {args.shards} shards alone (slowest) | {slowest.seconds:.1f} s "
                f"({', '.join(f'{a.seconds:.1f}' for a in alone)}); slowest: {slowest.describe()}; "
                f"store: {'; '.join(slowest.writes)} | | |",
                f"| {args.shards} shards at once | {together.seconds:.1f} s = {ratio:.2f}× the slowest alone; "
                f"{together.describe()} | ≤ 1.3× | {verdict(ratio <= 1.3)} |",
                f"| the least {args.shards} shards at once could take here | {floor:.1f} s = "
                f"{floor / slowest.seconds:.2f}× "
                f"the slowest alone: the {together.cpu:.0f} CPU s they and the servers spent, on {CORES} cores | | |",
                f"| {args.shards} shards at once, each into a store of its own (no write shares anything) | "
                f"{apart.seconds:.1f} s = {apart.seconds / slowest.seconds:.2f}× the slowest alone; "
                f"{apart.describe()} | | |",
                f"| {args.shards} shards at once vs 1 collector | {together.seconds / one.seconds:.2f}× | ≤ 1× | "
                f"{verdict(together.seconds <= one.seconds)} |",
                f"| store writes of the {args.shards} shards at once | {' / '.join(together.writes)} | | |",
            ]
            print("\n".join(lines), flush=True)
            if args.only_shards:
                return
            named = write_config(folder, args.projects, args.datasets)
            for label, unchanged in (
                (f"no-change collect of all {datasets:,} datasets", config),
                ("the same, each source naming its datasets (`datasets = [...]`)", named),
            ):
                proxy.clear()
                took = timed(unchanged, store, [names], servers).seconds
                listings = proxy.count("GET", is_listing)
                lines.append(
                    f"| {label} | {took:.1f} s, {listings:,} listings "
                    f"| ≤ {datasets + 1:,} listings | {verdict(listings <= datasets + 1)} |"
                )
                print(lines[-1], flush=True)
            lines += rounds(org, config, store, shards, args.rounds, folder, servers)
            print("\n".join(lines[-6:]), flush=True)
            lines += ["", *pages(Store(store), folder, args.repeat)]
    finally:
        proxy.stop()
        pg.stop()
        s3.stop()
    print("\n" + "\n".join(lines))


def rounds(
    org: Organisation, config: Path, store: str, shards: list[list[str]], count: int, folder: Path, servers: Servers
) -> list[str]:
    """Rounds of loads then concurrent sharded collects, with two readers querying all along."""
    stop = folder / "stop-readers"
    from tests.test_scaled_store import READER  # the readers the scaled-store test runs: query until told to stop

    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, store, str(stop)], cwd=PROJECT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    lost = duplicated = 0
    seconds: list[float] = []
    writing: list[float] = []  # the collects' own write seconds in each round, waiting for turns excluded
    crowded: list[int] = []  # the live files of the store's most crowded table after each round
    writes: list[str] = []
    compactions = 0
    try:
        for n in range(1, count + 1):
            org.add_load(n)
            run = timed(config, store, shards, servers)
            seconds.append(run.seconds)
            writes += run.writes
            writing.append(_total(run.writes, r"in ([\d.]+) s") - _total(run.writes, r"([\d.]+) s of it waiting"))
            compactions += sum("compacted" in line for line in run.maintained)
            with Store(store).reader() as con:
                runs, distinct = con.execute("SELECT count(*), count(DISTINCT run_key) FROM runs").fetchone()
                crowded.append(max((files for *_, files in table_files(con, 0)), default=0))
            expected = org.projects * org.datasets * (n + 1)
            lost += max(0, expected - distinct)
            duplicated += runs - distinct
            print(
                f"  round {n}: {seconds[-1]:.1f} s, writes {writing[-1]:.1f} s without waiting, "
                f"most files in a table {crowded[-1]}, runs lost {lost}, duplicated {duplicated}"
                + "".join(f"; {line}" for line in run.maintained),
                flush=True,
            )
    finally:
        stop.touch()
    results = [json.loads(r.communicate(timeout=120)[0]) for r in readers]
    reads, failed = sum(r["reads"] for r in results), sum(r["failed"] for r in results)
    committed, retried = _total(writes, r"(\d+) writes? in"), _total(writes, r"(\d+) retried")
    waited = _total(writes, r"([\d.]+) s of it waiting")
    return [
        f"| {count} rounds of {len(shards)} shards at once (a load added to every dataset each round) | "
        f"{', '.join(f'{s:.1f}' for s in seconds)} s | | |",
        f"| the rounds' store writes, waiting for turns excluded (all collects added up) | "
        f"{', '.join(f'{s:.1f}' for s in writing)} s | | |",
        f"| most live files in one store table after each round ({compactions} compactions in all) | "
        f"{', '.join(map(str, crowded))} | | |",
        f"| runs lost, duplicated | {lost}, {duplicated} | 0, 0 | {verdict(lost == duplicated == 0)} |",
        f"| reads by 2 readers during the rounds, failed | {reads:,}, {failed} | 0 failed | {verdict(failed == 0)} |",
        f"| store writes in the rounds | {committed:.0f} writes, {retried:.0f} retried after a collision, "
        f"{waited:.0f} s waiting for turns (all collects added up) | | |",
    ]


def _total(writes: list[str], pattern: str) -> float:
    """A figure summed over the collects' accounts of their store writes."""
    return sum(float(m.group(1)) for line in writes for m in [re.search(pattern, line)] if m)


def pages(scaled: Store, folder: Path, repeat: int) -> list[str]:
    """Every page's cold time on the scaled store and on an embedded copy of it."""
    from benchmarks import pages as page_bench
    from glasspane import settings
    from glasspane.store.copy import copy_store

    embedded = Store(folder / "embedded.lake")
    copy_store(scaled.location, embedded)
    page_bench.quiet_streamlit()
    medians: dict[str, dict[str, float]] = {}
    for label, store in (("scaled", scaled), ("embedded", embedded)):
        os.environ[settings.STORE_ENV] = store.location.setting
        for view in page_bench.views_for(store.location.setting):
            timing = page_bench.Timing()
            page_bench.time_view(view, None, 600)
            for _ in range(repeat):
                page_bench.time_view(view, timing, 600)
            medians.setdefault(view.label, {})[label] = timing.median
    rows = [
        f"| {view} | {t['scaled']:.3f} s | {t['embedded']:.3f} s | {t['scaled'] / t['embedded']:.1f}× |"
        for view, t in medians.items()
    ]
    header = ["| page | scaled | embedded | scaled / embedded |", "|---|---:|---:|---:|"]
    return [f"**Pages** (cold AppTest runs, median of {repeat}):", "", *header, *rows]


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

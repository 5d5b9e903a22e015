"""Real API servers for the tests, on free loopback ports: S3 (moto_server), BigQuery (bqemulator),
an OAuth token endpoint, and a recording proxy that counts the HTTP requests a client makes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

BIN = Path(sys.executable).parent
S3_REGION = "us-east-1"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout_s: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers (any HTTP status counts); fail if the process exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


class Process:
    """A server process started on loopback and stopped (terminated, then killed) on `stop()`."""

    def __init__(
        self,
        command: list[str],
        ready_url: str,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        cwd: Path | None = None,
    ):
        output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self._output = output
        self.process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT, cwd=cwd
        )
        wait_until_up(ready_url, process=self.process)

    def stop(self) -> None:
        """Stop the server; a stopped server refuses connections."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._output is not subprocess.DEVNULL:
            self._output.close()


@dataclass
class S3Keys:
    """An access key of a moto IAM user allowed to do anything."""

    access_key_id: str
    secret_access_key: str


class MotoS3:
    """`moto_server` with credentials enforced: only the IAM user's key it creates is accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        # moto checks signatures once this many unauthenticated calls (the IAM setup) are used up
        self.server = Process(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            f"{self.endpoint}/moto-api/",
            env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"},
        )
        self.keys = self._create_user()

    def _create_user(self) -> S3Keys:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
            region_name=S3_REGION,
        )
        iam.create_user(UserName="glasspane")
        key = iam.create_access_key(UserName="glasspane")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="glasspane", PolicyName="all", PolicyDocument=json.dumps(policy))
        return S3Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def credentials(self, endpoint: str | None = None) -> dict[str, str]:
        """dlt's AwsCredentials fields for this server (or for a proxy in front of it)."""
        return {
            "aws_access_key_id": self.keys.access_key_id,
            "aws_secret_access_key": self.keys.secret_access_key,
            "endpoint_url": endpoint or self.endpoint,
            "region_name": S3_REGION,
        }

    def client(self):
        """A boto3 S3 client with the valid key."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.keys.access_key_id,
            aws_secret_access_key=self.keys.secret_access_key,
            region_name=S3_REGION,
        )

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()


class BigQueryEmulator:
    """`bqemulator` (BigQuery's REST API over DuckDB), in memory."""

    def __init__(self, project: str, log: Path | None = None) -> None:
        from duckdb_extensions import import_extension

        import_extension("spatial")  # bqemulator needs it and cannot download it here
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = Process(
            [
                str(BIN / "bqemulator"),
                "start",
                "--rest-port",
                str(self.port),
                "--grpc-port",
                str(free_port()),
                "--project",
                project,
                "--log-level",
                "error",
            ],
            f"{self.endpoint}/",
            log=log,
        )

    def stop(self) -> None:
        """Stop the emulator."""
        self.server.stop()


@dataclass
class Recorded:
    """One request a proxy forwarded (or answered itself)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes


Fault = Callable[[Recorded], tuple[int, dict] | None]


class RecordingProxy:
    """An HTTP reverse proxy on loopback: forwards every request to `target` and records it.

    `fault` may answer a request itself with an error (status and JSON body), standing in for
    what a real cloud API says (a 403 for a project without access) and an emulator cannot.
    """

    def __init__(self, target: str, fault: Fault | None = None) -> None:
        self.target = target.removeprefix("http://")
        self.requests: list[Recorded] = []
        self.fault = fault
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                query_params = parse_qs(query, keep_blank_values=True)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorded = Recorded(self.command, path, query_params, headers, body)
                with proxy._lock:
                    proxy.requests.append(recorded)
                answer = proxy.fault(recorded) if proxy.fault else None
                if answer is not None:
                    status, payload = answer
                    self._reply(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
                    return
                upstream = http.client.HTTPConnection(proxy.target, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    skip = ("transfer-encoding", "connection", "content-length")
                    kept = {k: v for k, v in response.getheaders() if k.lower() not in skip}
                    if self.command == "HEAD":  # the size of what a GET would return
                        kept["Content-Length"] = response.getheader("Content-Length") or "0"
                    self._reply(response.status, kept, data)
                finally:
                    upstream.close()

            def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

            def log_message(self, *args) -> None:
                pass

        return Handler

    def clear(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self.requests.clear()

    def count(self, method: str | None = None, where: Callable[[Recorded], bool] | None = None) -> int:
        """Requests recorded (of a method, matching a predicate)."""
        with self._lock:
            return sum(
                1 for r in self.requests if (method is None or r.method == method) and (where is None or where(r))
            )

    def stop(self) -> None:
        """Stop answering."""
        self.server.shutdown()
        self.server.server_close()


class TokenServer:
    """Google's OAuth token endpoint as a service account sees it: a signed JWT in, an access token out.

    Service accounts whose e-mail is in `rejected` get `invalid_grant`, as revoked keys do.
    """

    def __init__(self) -> None:
        self.rejected: set[str] = set()
        self.issued: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                subject = _jwt_issuer(form.get("assertion", [""])[0])
                if subject in server.rejected:
                    status, payload = 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                else:
                    token = f"token-{len(server.issued)}"
                    server.issued.append(subject)
                    status, payload = 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop answering."""
        self.server.shutdown()
        self.server.server_close()


def _jwt_issuer(assertion: str) -> str:
    import base64

    with contextlib.suppress(Exception):
        payload = assertion.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iss"]
    return ""


class Postgres:
    """A PostgreSQL server from Debian's packages (`postgresql`), initialised in a temporary folder and
    listening on loopback, with one password-protected superuser. As root, it runs as Debian's `postgres` user
    (the server refuses to run as root)."""

    USER = "glasspane"

    def __init__(self) -> None:
        import glob
        import secrets
        import shutil
        import tempfile

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("no PostgreSQL server: apt-get install postgresql (scripts/test.sh does)")
        self._bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="glasspane-pg-"))
        self._rmtree = shutil.rmtree
        self.password = secrets.token_hex(12)
        self.port = free_port()
        (self.folder / "pw").write_text(self.password)
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.folder / "pw", "postgres")
        self._pg(
            "initdb",
            "-D",
            str(self.folder / "data"),
            "-U",
            self.USER,
            "--auth=scram-sha-256",
            f"--pwfile={self.folder / 'pw'}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        self._pg(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off",
        )

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self._bin / tool), *args], check=True, capture_output=True, timeout=60)

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        """A connection URL (with the password: for dlt's config and psycopg only)."""
        return f"postgresql://{self.USER}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        self._rmtree(self.folder, ignore_errors=True)

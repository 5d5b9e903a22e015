"""A stand-in for Slack on loopback: records every request and answers as a test tells it to."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as Slack would have received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Answer:
    """What to answer one request with."""

    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


class SlackServer:
    """Answers 200 'ok' (or, for Web API paths, `{"ok": true}`) unless answers were queued."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[Answer] = deque()
        self.on_post: Callable[[], None] | None = None  # runs before answering, while the client waits
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                try:
                    body = json.loads(raw)
                except ValueError:  # the Web API also takes form posts
                    body = {"raw": raw}
                with server.lock:
                    server.received.append(Received(self.path, dict(self.headers), body))
                    answer = server.answers.popleft() if server.answers else None
                if server.on_post is not None:
                    server.on_post()
                if answer is None:
                    web_api = self.path.startswith("/api/")
                    answer = Answer(body='{"ok": true, "ts": "1.0"}' if web_api else "ok")
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                payload = answer.body.encode()
                self.send_header("Content-Type", "application/json" if answer.body.startswith("{") else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """A URL on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        """Queue answers for the next requests, in order."""
        with self.lock:
            self.answers.extend(answers)

    def messages(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far."""
        with self.lock:
            return [r.body for r in self.received]

    def start(self) -> SlackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

"""Contract tests: the real client against canned answers shaped like real Alma's.

Each fixture body in these tests is written by the project, field by field after a public
payload (each test says which). A tiny HTTP server on 127.0.0.1 serves them to the real
``AlmaClient``, so the client is tested against what Alma sends, not against our simulator's
idea of it. The simulator's own tests assert the same shapes, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from alma.client import AlmaClient
from alma.config import AlmaSettings
from alma.http import AlmaHttp

API_KEY = "contract-key"
SRU_PATH = "/view/sru/01TEST_NETWORK"


@dataclass
class Answer:
    status: int
    body: str
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes


class AlmaStub:
    """Answers each (method, path) with the canned answers given, in turn; the last repeats."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.seen.append(Seen(self.command, parts.path, parse_qs(parts.query), body))
                queue = stub.answers.get((self.command, parts.path))
                answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Answer(
                    404, "<html><body>no such path</body></html>", "text/html")
                data = answer.body.encode("utf-8")
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)  # a quick shutdown

    def answer(self, method: str, path: str, *answers: Answer) -> None:
        """Queue answers for METHOD PATH (path as Alma's: /almaws/v1/...)."""
        self.answers.setdefault((method, path), []).extend(answers)

    def answer_json(self, method: str, path: str, payload: object, status: int = 200) -> None:
        self.answer(method, path, Answer(status, json.dumps(payload)))

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def __enter__(self) -> "AlmaStub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    with AlmaStub() as server:
        yield server


@pytest.fixture
def stub_client(stub):
    """The real client, pointed at the stub; quick backoff so retry paths run in milliseconds."""
    settings = AlmaSettings(
        api_key=API_KEY,
        api_url=stub.base_url,
        nz_sru_url=stub.base_url + SRU_PATH,
        requests_per_second=25.0,
        timeout_seconds=5.0,
        max_retries=2,
        quota_floor=0,
    )
    http = AlmaHttp(settings.api_key, requests_per_second=25.0, timeout_seconds=5.0,
                    max_retries=2, backoff_factor=0.01, quota_floor=0)
    client = AlmaClient(settings, http)
    yield client
    client.close()

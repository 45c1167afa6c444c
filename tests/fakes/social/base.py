"""What the fake social APIs share: a loopback server that records every request (method,
path, query, headers, parsed body) and answers through `route`, with failures that tests
queue per path (`fail_next`) served instead of the next answer there."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackServer, QuietHandler


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    raw: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class RecordingApi(LoopbackServer):
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._failures: dict[str, list[Answer]] = {}
        self.lock = threading.RLock()
        super().__init__()

    def fail_next(self, path: str, status: int, body: Any = None, **headers: str) -> None:
        with self.lock:
            self._failures.setdefault(path, []).append(Answer(status, body, headers))

    def calls(self, path: str, method: str | None = None) -> list[Request]:
        return [
            r for r in self.requests if r.path == path and (method is None or r.method == method)
        ]

    def route(self, request: Request) -> Answer:
        raise NotImplementedError

    def _answer(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            queued = self._failures.get(request.path)
            if queued:
                return queued.pop(0)
            return self.route(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(QuietHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                kind = headers.get("content-type", "")
                body: Any = None
                form: dict[str, str] = {}
                if raw and kind.startswith("application/json"):
                    body = json.loads(raw)
                elif raw and kind.startswith("application/x-www-form-urlencoded"):
                    form = {
                        k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()
                    }
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                request = Request(self.command, parts.path, query, headers, raw, body, form)
                answer = api._answer(request)
                data = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

        return Handler

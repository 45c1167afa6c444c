"""A feed server on 127.0.0.1 whose paths can be told how to behave: serve bytes with
ETag/Last-Modified (answering 304), fail with a status sequence, redirect, drip slowly,
send a huge or gzip-bombed body. Every request is recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from tests.fakes.loopback import LoopbackServer, QuietHandler


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml"
    etag: str = ""
    last_modified: str = ""
    statuses: list[int] = field(default_factory=list)  # served first, one per request
    headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str = ""
    drip_seconds: float = 0.0  # pause between 1-byte writes
    stream: Callable[[], Iterator[bytes]] | None = None  # body produced lazily (huge bodies)
    encoding: str = ""  # Content-Encoding to declare


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


class FeedServer(LoopbackServer):
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        super().__init__()

    def add(self, path: str, route: Route | None = None, **fields: object) -> str:
        self.routes[path] = route or Route(**fields)  # type: ignore[arg-type]
        return self.url(path)

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Request(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    return self._send(404, b"not found")
                if route.statuses:
                    status = route.statuses.pop(0)
                    return self._send(status, b"failure", route.headers)
                if route.redirect_to:
                    return self._send(302, b"", {"Location": route.redirect_to})
                if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified
                ):
                    return self._send(304, b"")
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                if route.encoding:
                    headers["Content-Encoding"] = route.encoding
                if route.stream is not None or route.drip_seconds:
                    return self._stream(route, headers)
                return self._send(200, route.body, headers)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def _stream(self, route: Route, headers: dict[str, str]) -> None:
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    if route.drip_seconds:
                        for byte in route.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(route.drip_seconds)  # the fault under test: a slow server
                    else:
                        assert route.stream is not None
                        for chunk in route.stream():
                            self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

        return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()

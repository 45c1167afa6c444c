"""A feed server on 127.0.0.1 that counts the requests it holds at once.

Each request waits (on a condition, up to `hold` seconds) until `expect` requests are in
flight together, then answers 304. A client that keeps to N requests per host therefore
shows exactly N at once; one that sends more shows more."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class CountingServer:
    def __init__(self, expect: int = 1, hold: float = 0.5) -> None:
        self.expect = expect
        self.hold = hold
        self.in_flight = 0
        self.most_in_flight = 0
        self.requests = 0
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def start(self) -> CountingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._changed:
                    server.requests += 1
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                    server._changed.notify_all()
                    server._changed.wait_for(
                        lambda: server.in_flight >= server.expect, timeout=server.hold
                    )
                    server.in_flight -= 1
                self.send_response(304)
                self.send_header("ETag", '"same"')
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer().start()
    try:
        yield server
    finally:
        server.stop()

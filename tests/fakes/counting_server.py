"""A feed server on 127.0.0.1 that counts the requests it holds at once.

Each request waits (on a condition, up to `hold` seconds) until `expect` requests are in
flight together, then answers 304. A client that keeps to N requests per host therefore
shows exactly N at once; one that sends more shows more."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.fakes.loopback import LoopbackServer, QuietHandler


class CountingServer(LoopbackServer):
    def __init__(self, expect: int = 1, hold: float = 0.5) -> None:
        self.expect = expect
        self.hold = hold
        self.in_flight = 0
        self.most_in_flight = 0
        self.requests = 0
        self._changed = threading.Condition()
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
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

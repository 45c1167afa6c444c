"""Slack's Socket Mode on 127.0.0.1: a WebSocket server that behaves as Slack's does.

The fake Slack Web API's `apps.connections.open` hands out `url_for_ticket()` URLs from this
server (attach it with `FakeSlack(socket_mode=...)` or `fake_slack.socket_mode = ...`). Each
URL carries a one-time ticket, as Slack's do: a second connection with it, or one with a
ticket the server never issued, is refused at the handshake (HTTP 401).

On each connection the server sends `hello`, then whatever a test queued with
`send_after_hello`, then the envelopes a test sends with `send_envelope`. It records every
ack (`{"envelope_id": ...}`) with the moment it arrived, so a test can assert that an
envelope was acked within Slack's 3 seconds (`wait_for_ack`). Besides, it can:

- `drop()`: end a connection without a close frame, as an idle proxy or a load balancer
  that gives up does (FIN, or RST with `reset=True`);
- `go_silent()`: stop reading and answering on a connection (pings included) while the TCP
  connection stays up, as a half-open connection through a dead NAT looks to the client;
- `refuse_next = n`: refuse the next n handshakes (HTTP 503), spending their tickets;
- `refresh()`: send `disconnect` (reason `refresh_requested`, `warning`, ...) and keep the
  old connection open and quiet, as Slack does while the client moves to a new URL.

Everything runs on one asyncio loop in a daemon thread; the methods are for the test's thread
and wait on conditions, never on sleeps.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bot.loop_thread import LoopThread

APP_ID = "A0000APP"


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    connection: int  # index in FakeSocketMode.connections
    sent_at: float  # time.monotonic() when the envelope went out
    acked_at: float
    payload: dict[str, Any] | None

    @property
    def latency(self) -> float:
        return self.acked_at - self.sent_at


@dataclass
class Connection:
    index: int
    ticket: str
    opened_at: float  # time.monotonic() of the accepted handshake
    ws: ServerConnection
    hello_at: float = 0.0
    closed_at: float = 0.0  # when the server saw the TCP connection end
    close_frame: bool = False  # the client sent a close frame
    received: list[dict[str, Any]] = field(default_factory=list)


class FakeSocketMode:
    def __init__(self, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self.connections: list[Connection] = []
        self.acks: dict[str, Ack] = {}
        self.refused = 0  # handshakes refused
        self.refuse_next = 0  # refuse this many more handshakes (503), spending their tickets
        self._tickets: dict[str, bool] = {}  # issued ticket -> already used
        self._sent_at: dict[str, float] = {}
        self._after_hello: list[dict[str, Any]] = []
        self._envelope_ids = itertools.count(1)
        self._cond = threading.Condition()
        self._io = LoopThread("fake-socket-mode")
        self._server: Server | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSocketMode:
        self._io.start()
        self._server = self._call(self._serve())
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._call(self._close(self._server))
        self._io.stop()

    async def _close(self, server: Server) -> None:
        for conn in self.connections:  # silent ones would make close() wait for them
            conn.ws.transport.abort()
        server.close()
        await server.wait_closed()

    async def _serve(self) -> Server:
        # Slack's server does not ping the client; the client keeps the connection alive.
        return await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            ping_interval=None,
            compression=None,
        )

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return next(iter(self._server.sockets)).getsockname()[1]

    def url_for_ticket(self) -> str:
        """A fresh one-time URL, as `apps.connections.open` returns it."""
        ticket = uuid.uuid4().hex
        with self._cond:
            self._tickets[ticket] = False
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # --- what a test does --------------------------------------------------------------------
    def send_envelope(
        self, kind: str, payload: dict[str, Any], *, connection: int = -1, **extra: Any
    ) -> str:
        """Send an envelope (type `events_api`, `interactive`, `slash_commands`) on a
        connection (the latest by default); returns its envelope_id."""
        envelope = self._envelope(kind, payload, **extra)
        conn = self.connections[connection]
        self._call(self._send(conn, envelope))
        return str(envelope["envelope_id"])

    def send_after_hello(self, kind: str, payload: dict[str, Any], **extra: Any) -> str:
        """Queue an envelope to go out on the next connection right after its hello."""
        envelope = self._envelope(kind, payload, **extra)
        with self._cond:
            self._after_hello.append(envelope)
        return str(envelope["envelope_id"])

    def refresh(
        self, reason: str = "refresh_requested", *, connection: int = -1, silent: bool = False
    ) -> None:
        """Tell the client to move to a new connection; the old one stays open and quiet.
        `silent=True`: the old connection then answers nothing, not even the client's close
        frame (a host going away), so a client that waits for that answer is seen to wait."""
        conn = self.connections[connection]
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-fake-1"},
        }
        if silent:  # before the message: the client may answer it within a millisecond
            self._call(self._pause(conn))
        self._call(conn.ws.send(json.dumps(message)))

    def drop(self, *, connection: int = -1, reset: bool = False) -> None:
        """End the TCP connection without a WebSocket close frame."""
        conn = self.connections[connection]

        def cut() -> None:
            transport = conn.ws.transport
            if reset:
                transport.abort()  # RST: what a proxy answers for a flow it forgot
            else:
                # FIN after what was sent: the client reads everything, then end of stream
                with suppress(OSError):
                    transport.write_eof()

        self._io.call_soon(cut)

    def go_silent(self, *, connection: int = -1) -> None:
        """Neither read nor answer on the connection any more (no pongs), TCP staying up."""
        self._call(self._pause(self.connections[connection]))

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> Connection:
        """Block until `count` connections have been accepted and greeted; the last one."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: len([c for c in self.connections if c.hello_at]) >= count, timeout
            ):
                raise AssertionError(
                    f"waited {timeout} s for {count} connection(s); got {len(self.connections)}"
                )
            return self.connections[count - 1]

    def wait_for_refusals(self, count: int, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.refused >= count, timeout):
                raise AssertionError(f"waited {timeout} s for {count} refused handshake(s)")

    def wait_for_close(self, connection: int, timeout: float = 10.0) -> Connection:
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections[connection].closed_at, timeout):
                raise AssertionError(f"connection {connection} still open after {timeout} s")
            return self.connections[connection]

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"envelope {envelope_id} not acked within {timeout} s")
            return self.acks[envelope_id]

    # --- the server side ---------------------------------------------------------------------
    def _envelope(self, kind: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "envelope_id": f"env-{next(self._envelope_ids):06d}-{uuid.uuid4().hex[:8]}",
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
            **extra,
        }

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        return self._io.run(coro, timeout)

    async def _send(self, conn: Connection, envelope: dict[str, Any]) -> None:
        with self._cond:
            self._sent_at[envelope["envelope_id"]] = time.monotonic()
        await conn.ws.send(json.dumps(envelope))

    async def _pause(self, conn: Connection) -> None:
        conn.ws.transport.pause_reading()

    def _check_ticket(self, ws: ServerConnection, request: Request) -> Response | None:
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        with self._cond:
            used = self._tickets.get(ticket)
            if used is None or used:
                self.refused += 1
                self._cond.notify_all()
                return ws.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
            self._tickets[ticket] = True
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                self._cond.notify_all()
                return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try again\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        ticket = (parse_qs(urlsplit(path).query).get("ticket") or [""])[0]
        with self._cond:
            conn = Connection(len(self.connections), ticket, time.monotonic(), ws)
            self.connections.append(conn)
            queued, self._after_hello = self._after_hello, []
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "applink-fake-1", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            await ws.send(json.dumps(hello))
            for envelope in queued:
                await self._send(conn, envelope)
            with self._cond:
                conn.hello_at = time.monotonic()
                self._cond.notify_all()
            async for raw in ws:
                self._received(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            conn.close_frame = ws.protocol.close_rcvd is not None
            with self._cond:
                conn.closed_at = time.monotonic()
                self._cond.notify_all()

    def _received(self, conn: Connection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        now = time.monotonic()
        with self._cond:
            conn.received.append(message)
            envelope_id = str(message.get("envelope_id") or "")
            if envelope_id in self._sent_at and envelope_id not in self.acks:
                self.acks[envelope_id] = Ack(
                    envelope_id,
                    conn.index,
                    self._sent_at[envelope_id],
                    now,
                    message.get("payload"),
                )
            self._cond.notify_all()


@pytest.fixture
def socket_mode_server() -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    try:
        yield server
    finally:
        server.stop()

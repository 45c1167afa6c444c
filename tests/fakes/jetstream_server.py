"""A Jetstream on 127.0.0.1: a WebSocket at /subscribe that replays recorded-format events
(tests/fixtures/jetstream/*.jsonl, one message a line, sent as it is, malformed lines too),
then stays open and sends what is published live.

`cursor=` is honoured as Jetstream does: events with time_us >= cursor are replayed (a line
that is not an event sits at the time of the event before it); without a cursor the whole
recording is sent, as if it were arriving live. `wantedCollections` is recorded, not
applied, so the client's own filtering is what a test sees. `drop_after = n` cuts the next
connection (no close frame) after n messages; `refusals` answers the next handshakes with
HTTP errors. Each connection's query string is kept in `queries`.

A latency benchmark: start the server, point a bluesky source (or `mentionbot run` with
JETSTREAM_URL=server.url and ALLOW_PRIVATE_HOSTS=127.0.0.1) at `url`, call
`wait_for_connections(1)`, then `publish(make_post(text))`: it stamps the event with the
current time (time_us and createdAt) and returns time.perf_counter() of the moment the frame
was handed to the connections. Set `replay = False` to skip the recording.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.sync.server import Server, ServerConnection, serve

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jetstream"
POST = "app.bsky.feed.post"


@dataclass(frozen=True)
class Line:
    raw: str
    time_us: int  # the event's, or the one before it for a line that is not an event


def read_recording(path: Path) -> list[Line]:
    lines, last = [], 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        # the recorded malformed line is sent as it is, where it was
        with suppress(ValueError, KeyError, TypeError):
            last = int(json.loads(raw)["time_us"])
        lines.append(Line(raw, last))
    return lines


def now_us() -> int:
    return time.time_ns() // 1000


_rkeys = iter(range(1, 10**9))


def make_post(
    text: str,
    *,
    did: str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    rkey: str = "",
    langs: tuple[str, ...] = ("en",),
    time_us: int = 0,
) -> dict[str, Any]:
    """A create commit of a post in Jetstream's format (publish() stamps it with now)."""
    rkey = rkey or f"3lbz{next(_rkeys):09d}"
    return {
        "did": did,
        "time_us": time_us or now_us(),
        "kind": "commit",
        "commit": {
            "rev": rkey,
            "operation": "create",
            "collection": POST,
            "rkey": rkey,
            "record": {
                "$type": POST,
                "createdAt": _iso(time_us or now_us()),
                "langs": list(langs),
                "text": text,
            },
            "cid": f"bafyrei{rkey}",
        },
    }


def stamp(event: dict[str, Any]) -> dict[str, Any]:
    """The event as if it happened now: time_us and, for a record, createdAt."""
    at = now_us()
    event["time_us"] = at
    record = (event.get("commit") or {}).get("record")
    if isinstance(record, dict):
        record["createdAt"] = _iso(at)
    return event


def _iso(time_us: int) -> str:
    when = datetime.fromtimestamp(time_us / 1e6, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeJetstream:
    def __init__(self, recording: Path = FIXTURES / "posts.jsonl") -> None:
        self.recording: list[Line] = read_recording(recording)
        self.replay = True  # send the recording (from the cursor) before the live events
        self.drop_after: int | None = None  # cut the next connection after n messages
        self.queries: list[dict[str, list[str]]] = []  # each connection's query, in order
        self.sent = 0  # messages sent, all connections
        # handshakes answered with an HTTP error instead, one each: (status, headers)
        self.refusals: list[tuple[int, dict[str, str]]] = []
        self.handshakes: list[float] = []  # time.monotonic() of every handshake, refused too
        self._subscribers: list[queue.Queue[str | None]] = []
        self._cond = threading.Condition()
        self._server: Server = serve(
            self._handle, "127.0.0.1", 0, compression=None, process_request=self._refuse
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/subscribe"

    def start(self) -> FakeJetstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            for subscriber in self._subscribers:
                subscriber.put(None)
        self._server.shutdown()
        self._thread.join(timeout=5)

    # ---- what a test or a benchmark does --------------------------------------------------

    def publish(self, event: dict[str, Any], *, now: bool = True) -> float:
        """Send an event live to every connection (stamped with the current time unless
        `now=False`), and keep it for later replays. Returns time.perf_counter()."""
        if now:
            stamp(event)
        raw = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        return self.publish_raw(raw, int(event["time_us"]))

    def publish_raw(self, raw: str, time_us: int = 0) -> float:
        """Send any text frame live (malformed, oversized, ...)."""
        with self._cond:
            at = time_us or (self.recording[-1].time_us if self.recording else 0)
            self.recording.append(Line(raw, at))
            for subscriber in self._subscribers:
                subscriber.put(raw)
            return time.perf_counter()

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.queries) >= count, timeout)

    def wait_for_sent(self, count: int, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.sent >= count, timeout)

    def cursors(self) -> list[int | None]:
        """The cursor each connection asked for (None: the live tail)."""
        with self._cond:
            return [int(q["cursor"][0]) if "cursor" in q else None for q in self.queries]

    # ---- a connection ---------------------------------------------------------------------

    def _refuse(self, conn: ServerConnection, request: Request) -> Response | None:
        with self._cond:
            self.handshakes.append(time.monotonic())
            refusal = self.refusals.pop(0) if self.refusals else None
            self._cond.notify_all()
        if refusal is None:
            return None
        response = conn.respond(refusal[0], "refused by the fake\n")
        for name, value in refusal[1].items():
            response.headers[name] = value
        return response

    def _handle(self, conn: ServerConnection) -> None:
        query = parse_qs(urlsplit(conn.request.path if conn.request else "").query)
        live: queue.Queue[str | None] = queue.Queue()
        with self._cond:
            self.queries.append(query)
            drop_after, self.drop_after = self.drop_after, None
            cursor = int(query["cursor"][0]) if "cursor" in query else None
            backlog = [
                line.raw
                for line in self.recording
                if self.replay and (cursor is None or line.time_us >= cursor)
            ]
            self._subscribers.append(live)
            self._cond.notify_all()
        try:
            for raw in self._frames(conn, backlog, live):
                if drop_after is not None and drop_after <= 0:
                    _cut(conn)
                    return
                conn.send(raw)
                with self._cond:
                    self.sent += 1
                    self._cond.notify_all()
                if drop_after is not None:
                    drop_after -= 1
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self._subscribers.remove(live)

    def _frames(
        self, conn: ServerConnection, backlog: list[str], live: queue.Queue[str | None]
    ) -> Iterator[str]:
        yield from backlog
        while conn.state is State.OPEN:
            try:
                item = live.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                return
            yield item


def _cut(conn: ServerConnection) -> None:
    """End the connection as a failing proxy would: no close frame. Only our sending side is
    shut, so what was sent arrives first (a full close could reset the connection, and the
    client's kernel would then drop frames it had received but not yet read)."""
    with suppress(OSError):
        conn.socket.shutdown(socket.SHUT_WR)
    # Until the client hangs up: closing sooner could reset the connection before the
    # client has read what was sent, and a reset makes its kernel drop that data.
    conn.recv_events_thread.join(timeout=5)


@pytest.fixture
def jetstream_server() -> Iterator[FakeJetstream]:
    server = FakeJetstream().start()
    try:
        yield server
    finally:
        server.stop()

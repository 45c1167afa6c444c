"""A Mastodon instance on 127.0.0.1: instance info (v1, v2), the hashtag stream as server-sent
events (chunked, heartbeats), the REST tag timeline (min_id/since_id/max_id, Link header) and
the tag RSS feed, and each status by id (/api/v1/statuses/<id>). Every request is recorded.

The stream replays tests/fixtures/mastodon/stream.sse to the first connection: each recorded
update enters the timeline as it is sent, as if posted at that moment. `publish(status)` posts
a status live (timeline + every open stream). `drop_after = n` cuts the next connection after n
events; the recorded updates it did not send then enter the timeline, posted while the client
was away, so only a catch-up from the REST timeline can find them.

A latency benchmark: start the server, point a mastodon source at `base_url`, wait for
`wait_for_streams(1)`, then call `publish(make_status(...))` (it returns time.perf_counter() of
the moment the frame was queued) and measure until the mention is stored.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

import pytest

from tests.fakes.loopback import LoopbackServer, QuietHandler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mastodon"
HOST = "mastodon.example"


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() when it arrived


@dataclass(frozen=True)
class Frame:
    raw: bytes
    status: dict[str, Any] | None  # an update's status, entering the timeline when sent
    is_event: bool


def read_recording(path: Path) -> list[Frame]:
    """A recorded stream split into frames: events (ended by a blank line) and heartbeats."""
    frames, block = [], []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith(":") and not block:
            frames.append(Frame(line.encode(), None, False))
        elif line.strip():
            block.append(line)
        elif block:
            frames.append(_frame("".join(block) + "\n"))
            block = []
    return frames


def _frame(text: str) -> Frame:
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    status = None
    if fields.get("event") == "update":
        try:
            status = json.loads(fields.get("data", ""))
        except ValueError:
            status = None  # the recorded malformed line: sent as it is
    return Frame(text.encode(), status, "event" in fields)


def make_status(status_id: str, html: str, *, acct: str = "dana", lang: str = "en") -> dict:
    """A status in Mastodon's format, for `publish`."""
    user = acct.split("@")[0]
    return {
        "id": status_id, "created_at": datetime.now().astimezone().isoformat(),
        "in_reply_to_id": None, "sensitive": False, "spoiler_text": "", "visibility": "public",
        "language": lang, "uri": f"https://{HOST}/users/{user}/statuses/{status_id}",
        "url": f"https://{HOST}/@{user}/{status_id}", "content": html, "reblog": None,
        "account": {"id": "1", "username": user, "acct": acct, "url": f"https://{HOST}/@{user}"},
        "media_attachments": [], "mentions": [], "tags": [{"name": "acme"}], "emojis": [],
    }  # fmt: skip


def _key(status: dict[str, Any]) -> tuple[int, str]:
    return (len(status["id"]), status["id"])


class FakeMastodon(LoopbackServer):
    def __init__(self, tag: str = "acme", *, recording: Path = FIXTURES / "stream.sse") -> None:
        self.tag = tag
        self.timeline: dict[str, dict[str, Any]] = {
            s["id"]: s for s in json.loads((FIXTURES / "timeline.json").read_text())
        }
        self.recording = read_recording(recording)
        self.token = ""  # when set, the stream needs it (Mastodon >= 4.2)
        self.timeline_needs_token = False  # the instance disabled public preview
        self.refuse_stream: int | None = None  # answer the stream with this status
        self.stream_failures: list[tuple[int, dict[str, str]]] = []  # served first, one each
        self.timeline_failures: list[tuple[int, dict[str, str]]] = []  # the same, for REST
        self.not_sse = False  # answer the stream with a web page
        self.drop_after: int | None = None  # cut the next connection after n events
        self.heartbeat = 15.0
        # The recording waits until the client's catch-up from the timeline is answered, so
        # its statuses are posted after it, as on a live instance, and arrive by the stream.
        self.catch_up_first = True
        self.timeline_answers = 0
        self.streaming_url = ""  # instance info's streaming URL (default: this server, ws://)
        self.requests: list[Request] = []
        self.streams_opened = 0
        self._subscribers: list[queue.Queue[bytes | None]] = []
        self._cond = threading.Condition()
        super().__init__()

    def stop(self) -> None:
        with self._cond:
            for subscriber in self._subscribers:
                subscriber.put(None)
        super().stop()

    # ---- what a test or a benchmark does --------------------------------------------------

    def publish(self, status: dict[str, Any]) -> float:
        frame = f"event: update\ndata: {json.dumps(status, separators=(',', ':'))}\n\n"
        with self._cond:
            self.timeline[status["id"]] = status
            return self._push(frame.encode())

    def publish_raw(self, frame: bytes) -> float:
        with self._cond:
            return self._push(frame)

    def _push(self, frame: bytes) -> float:
        for subscriber in self._subscribers:
            subscriber.put(frame)
        return time.perf_counter()

    def wait_for_streams(self, count: int, timeout: float = 10.0) -> bool:
        """Until `count` stream connections have been subscribed in all."""
        with self._cond:
            return self._cond.wait_for(lambda: self.streams_opened >= count, timeout)

    def wait_for_requests(self, path: str, count: int, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests_to(path)) >= count, timeout)

    def request_times(self, path: str) -> list[float]:
        return [r.at for r in self.requests_to(path)]

    def requests_to(self, path: str) -> list[Request]:
        with self._cond:
            return [r for r in self.requests if r.path == path]

    # ---- the API --------------------------------------------------------------------------

    def status(self, status_id: str) -> dict[str, Any] | None:
        """A status by its id here: one in the timeline, or one a boost in it carries."""
        for status in self.timeline.values():
            for candidate in (status, status.get("reblog") or {}):
                if candidate.get("id") == status_id:
                    return candidate
        return None

    def status_id_of(self, uri: str) -> str:
        """The id here of the status with this uri, or ""."""
        for status in self.timeline.values():
            for candidate in (status, status.get("reblog") or {}):
                if candidate.get("uri") == uri:
                    return str(candidate["id"])
        return ""

    def timeline_page(self, query: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
        limit = min(int(query.get("limit", "20")), 40)
        ids = {k: (len(query[k]), query[k]) for k in ("min_id", "since_id", "max_id") if k in query}
        with self._cond:
            statuses = sorted(self.timeline.values(), key=_key)
        statuses = [
            s for s in statuses
            if ("min_id" not in ids or _key(s) > ids["min_id"])
            and ("since_id" not in ids or _key(s) > ids["since_id"])
            and ("max_id" not in ids or _key(s) < ids["max_id"])
        ]  # fmt: skip
        # min_id: the statuses immediately newer (paging forward); else the newest ones
        page = statuses[:limit] if "min_id" in ids else statuses[-limit:]
        page.reverse()  # newest first, as Mastodon answers
        link = ""
        if page:
            url = f"{self.base_url}/api/v1/timelines/tag/{self.tag}"
            link = (f'<{url}?max_id={page[-1]["id"]}>; rel="next", '
                    f'<{url}?min_id={page[0]["id"]}>; rel="prev"')  # fmt: skip
        return page, link

    def rss(self) -> bytes:
        with self._cond:
            statuses = sorted(self.timeline.values(), key=_key, reverse=True)[:20]
        items = "".join(
            f'<item><guid isPermaLink="true">{escape(s["url"])}</guid>'
            f"<link>{escape(s['url'])}</link>"
            f"<pubDate>{format_datetime(datetime.fromisoformat(s['created_at']))}</pubDate>"
            f"<description>{escape(s['content'])}</description>"
            f"<category>{self.tag}</category></item>"
            for s in statuses
            if s.get("url")
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>#{self.tag}</title><link>https://{HOST}/tags/{self.tag}</link>"
            f"<description>Public posts tagged #{self.tag}</description>"
            f"<generator>Mastodon v4.3.2</generator>{items}</channel></rss>"
        ).encode()

    def instance(self, version: int) -> dict[str, Any]:
        info = json.loads((FIXTURES / "instance_v2.json").read_text())
        streaming = self.streaming_url or "ws" + self.base_url.removeprefix("http")
        if version == 2:
            info["configuration"]["urls"]["streaming"] = streaming
            return info
        return {"uri": HOST, "title": info["title"], "version": info["version"],
                "urls": {"streaming_api": streaming}}  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with server._cond:
                    server.requests.append(
                        Request(parts.path, query, dict(self.headers.items()), time.monotonic())
                    )
                    server._cond.notify_all()
                authorized = bool(server.token) and (
                    self.headers.get("Authorization") == f"Bearer {server.token}"
                )
                tag = quote(server.tag, safe="")
                if parts.path in ("/api/v2/instance", "/api/v1/instance"):
                    return self._json(200, server.instance(int(parts.path[6])))
                if parts.path == f"/api/v1/timelines/tag/{tag}":
                    with server._cond:
                        failed = server.timeline_failures and server.timeline_failures.pop(0)
                    if failed:
                        return self._json(failed[0], {"error": "failure"}, failed[1])
                    if server.timeline_needs_token and not authorized:
                        return self._json(401, {"error": "This API requires an authenticated user"})
                    page, link = server.timeline_page(query)
                    self._json(200, page, {"Link": link} if link else {})
                    with server._cond:
                        server.timeline_answers += 1
                        server._cond.notify_all()
                    return None
                if parts.path.startswith("/api/v1/statuses/"):
                    with server._cond:
                        found = server.status(parts.path.removeprefix("/api/v1/statuses/"))
                    if found is None:
                        return self._json(404, {"error": "Record not found"})
                    return self._json(200, found)
                if parts.path == f"/tags/{tag}.rss":
                    return self._send(200, server.rss(), "application/rss+xml; charset=utf-8")
                if parts.path == "/api/v1/streaming/hashtag" and query.get("tag") == server.tag:
                    return self._stream(authorized)
                return self._json(404, {"error": "Record not found"})

            def _json(
                self, status: int, body: object, headers: dict[str, str] | None = None
            ) -> None:
                self._send(status, json.dumps(body).encode(), "application/json", headers)

            def _send(self, status: int, body: bytes, ctype: str,
                      headers: dict[str, str] | None = None) -> None:  # fmt: skip
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, authorized: bool) -> None:
                with server._cond:
                    failure = server.stream_failures.pop(0) if server.stream_failures else None
                if failure:
                    return self._json(failure[0], {"error": "failure"}, failure[1])
                if server.refuse_stream:
                    return self._json(server.refuse_stream, {"error": "refused"})
                if server.token and not authorized:
                    return self._json(401, {"error": "Error: Missing access token"})
                if server.not_sse:
                    return self._send(200, b"<html>maintenance</html>", "text/html")
                subscriber: queue.Queue[bytes | None] = queue.Queue()
                with server._cond:  # subscribed before the client can catch up: no gap
                    server._subscribers.append(subscriber)
                    answers = server.timeline_answers
                    server.streams_opened += 1
                    server._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "private, no-store")
                self.end_headers()
                self.close_connection = True
                with server._cond:
                    if server.catch_up_first and server.recording:
                        server._cond.wait_for(lambda: server.timeline_answers > answers, 5.0)
                    recorded, server.recording = server.recording, []
                    drop_after, server.drop_after = server.drop_after, None
                try:
                    self._serve(subscriber, recorded, drop_after)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away
                finally:
                    with server._cond:
                        server._subscribers.remove(subscriber)

            def _serve(self, subscriber: queue.Queue[bytes | None], recorded: list[Frame],
                       drop_after: int | None) -> None:  # fmt: skip
                self._chunk(b":)\n")
                sent = 0
                for n, frame in enumerate(recorded):
                    if drop_after is not None and sent >= drop_after:
                        with server._cond:  # posted while the client was away
                            for rest in recorded[n:]:
                                if rest.status:
                                    server.timeline[rest.status["id"]] = rest.status
                        return  # cut: no closing chunk
                    if frame.status:
                        with server._cond:
                            server.timeline[frame.status["id"]] = frame.status
                    self._chunk(frame.raw)
                    sent += frame.is_event
                while True:
                    if drop_after is not None and sent >= drop_after:
                        return
                    try:
                        frame_bytes = subscriber.get(timeout=server.heartbeat)
                    except queue.Empty:
                        self._chunk(b":thump\n")
                        continue
                    if frame_bytes is None:
                        self._chunk(b"")  # the server stops: end the stream cleanly
                        return
                    self._chunk(frame_bytes)
                    sent += 1

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler


@pytest.fixture
def mastodon_server() -> Iterator[FakeMastodon]:
    server = FakeMastodon().start()
    try:
        yield server
    finally:
        server.stop()

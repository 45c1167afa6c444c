"""One Mastodon instance over HTTP, for one hashtag: guarded GETs hop by hop (the user token
only to the instance and its streaming host), JSON answers under a size cap, the instance info
that names the streaming host, a page of the tag timeline, and the hashtag event stream, read
on a thread so that `stop` ends it at once.

It decides nothing: when to stream, catch up or poll, and what is new, is the source's
(bot/sources/mastodon.py).
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from bot.guarded_net import guarded_transport
from bot.http import FetchError, HttpFetcher, parse_retry_after, redact, redirect_target
from bot.sources.base import SourceError, json_answer
from bot.sources.mastodon_api import streaming_base
from bot.sources.sse import SseDecoder, SseEvent

log = logging.getLogger(__name__)

PAGE_LIMIT = 40  # the most the tag timeline gives per request
EVENTS_BUFFERED = 64  # stream events read but not yet handled


class HttpStatus(Exception):
    def __init__(self, status: int, why: str = "", retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}{': ' + why if why else ''}")
        self.status, self.retry_after = status, retry_after


class MastodonClient:
    """Requests are made between `open()` and its end; `streaming` is the instance itself until
    `discover()` finds another host."""

    def __init__(
        self,
        name: str,
        instance: str,
        tag: str,
        fetcher: HttpFetcher,
        *,
        token: str = "",
        user_agent: str = "mentionbot",
        timeout: float = 20.0,
    ) -> None:
        self.name, self.instance, self.tag = name, instance, tag
        self.fetcher, self.token, self.timeout = fetcher, token, timeout
        self.user_agent = user_agent
        self.streaming = instance
        self._client: httpx.Client | None = None
        self._read_timeout, self._max_body_bytes = 0.0, 0  # the source's Tuning, from open()

    def twin(self) -> MastodonClient:
        """Another client for the same instance and token, for work beside the stream (one
        client holds one open connection at a time)."""
        return MastodonClient(self.name, self.instance, self.tag, self.fetcher, token=self.token,
                              user_agent=self.user_agent, timeout=self.timeout)  # fmt: skip

    @contextmanager
    def open(self, *, read_timeout: float, max_body_bytes: int) -> Iterator[MastodonClient]:
        timeout = httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "identity"}
        transport = guarded_transport(self.fetcher.guard)  # every connection checked
        with httpx.Client(
            transport=transport, timeout=timeout, headers=headers, trust_env=False
        ) as client:
            self._client = client
            self._read_timeout, self._max_body_bytes = read_timeout, max_body_bytes
            try:
                yield self
            finally:
                self._client = None

    # ---- the endpoints --------------------------------------------------------------------

    def discover(self) -> dict[str, Any]:
        """Instance info, and from it the streaming host (it may differ from the instance's)."""
        for path in ("/api/v2/instance", "/api/v1/instance"):
            try:
                with self.get(self.instance + path, "application/json") as response:
                    if response.status_code == 200:
                        info = self.json(response)
                        if isinstance(info, dict):
                            self.streaming = streaming_base(info, self.instance)
                            return info
            except (httpx.HTTPError, FetchError, SourceError, OSError) as exc:
                log.debug("mastodon %s: %s: %s", self.name, path, exc)
        return {}

    @contextmanager
    def hashtag_stream(self) -> Iterator[httpx.Response]:
        """The hashtag's event stream, subscribed; HttpStatus when it is refused (200: answered,
        but not with an event stream)."""
        url = f"{self.streaming}/api/v1/streaming/hashtag?{urlencode({'tag': self.tag})}"
        with self.get(url, "text/event-stream", stream=True) as response:
            _require_ok(response)
            if "text/event-stream" not in response.headers.get("content-type", ""):
                raise HttpStatus(200, "not an event stream")
            yield response

    def timeline_page(self, min_id: str) -> tuple[list[Any], str]:
        """Up to PAGE_LIMIT statuses of the tag timeline (the oldest newer than `min_id`, or the
        newest without it), and the Link header."""
        params = {"limit": str(PAGE_LIMIT)} | ({"min_id": min_id} if min_id else {})
        url = f"{self.instance}/api/v1/timelines/tag/{quote(self.tag, safe='')}?"
        with self.get(url + urlencode(params), "application/json") as response:
            _require_ok(response)
            statuses = self.json(response)
            if not isinstance(statuses, list):
                raise SourceError("the tag timeline is not a list of statuses")
            return statuses, response.headers.get("link", "")

    def status(self, status_id: str) -> Any:
        """One status by its id on this instance (public statuses need no token)."""
        url = f"{self.instance}/api/v1/statuses/{quote(status_id, safe='')}"
        with self.get(url, "application/json") as response:
            _require_ok(response)
            return self.json(response)

    def read_events(
        self,
        response: httpx.Response,
        decoder: SseDecoder,
        stop: threading.Event,
        handle: Callable[[SseEvent], None],
    ) -> None:
        """A reader thread blocks on the socket; this thread calls `handle`, and checks `stop`
        twice a second, then shuts the socket so the reader wakes at once. At most
        EVENTS_BUFFERED events wait between the two (the reader then waits: the server's
        sending is slowed, not our memory grown), and a stream with no complete line
        (heartbeats count) for the read timeout is cut, as a silent one is."""
        events: queue.Queue[SseEvent | BaseException | None] = queue.Queue(EVENTS_BUFFERED)
        done = threading.Event()

        def put(item: SseEvent | BaseException | None) -> None:
            while not done.is_set():
                try:
                    events.put(item, timeout=0.5)
                    return
                except queue.Full:
                    continue

        def read() -> None:
            try:
                for chunk in response.iter_bytes():
                    for event in decoder.feed(chunk):
                        put(event)
                put(None)
            except BaseException as exc:  # handed to the handling thread, raised there
                put(exc)

        reader = threading.Thread(target=read, name=f"mastodon-{self.name}", daemon=True)
        reader.start()
        lines, heard = decoder.lines, time.monotonic()
        try:
            while not stop.is_set():
                try:
                    item = events.get(timeout=0.5)
                except queue.Empty:
                    if decoder.lines != lines:
                        lines, heard = decoder.lines, time.monotonic()
                    elif time.monotonic() - heard > self._read_timeout:
                        raise SourceError(
                            f"no complete line on the stream for {self._read_timeout:.0f} s"
                        ) from None
                    continue
                lines, heard = decoder.lines, time.monotonic()
                if item is None:
                    log.info("mastodon %s: the server closed the stream", self.name)
                    return
                if isinstance(item, BaseException):
                    raise item
                handle(item)
        finally:
            done.set()
            _shutdown(response)
            reader.join(timeout=2.0)

    # ---- HTTP -----------------------------------------------------------------------------

    @contextmanager
    def get(self, url: str, accept: str, *, stream: bool = False) -> Iterator[httpx.Response]:
        """GET through the fetcher's guard, hop by hop; the token goes only to the instance's
        and its streaming host."""
        assert self._client is not None
        trusted = {urlsplit(u).netloc for u in (self.instance, self.streaming)}
        timeout = httpx.Timeout(self.timeout, read=self._read_timeout) if stream else None
        current = url
        for _hop in range(4):
            self.fetcher.guard.check(current, resolve=False)  # names: checked on connecting
            headers = {"Accept": accept}
            if self.token and urlsplit(current).netloc in trusted:
                headers["Authorization"] = f"Bearer {self.token}"
            extra = {"timeout": timeout} if timeout else {}
            with self._stream(current, headers, extra) as response:
                target = redirect_target(response, current)
                if target:
                    current = target
                    continue
                yield response
                return
        raise FetchError(f"too many redirects from {redact(url)}")

    @contextmanager
    def _stream(
        self, url: str, headers: dict[str, str], extra: dict[str, Any]
    ) -> Iterator[httpx.Response]:
        """One request; httpx's errors in making it (a bad Location included) as FetchError."""
        assert self._client is not None
        with ExitStack() as stack:
            try:
                response = stack.enter_context(
                    self._client.stream("GET", url, headers=headers, **extra)
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise FetchError(f"cannot fetch {redact(url)}: {type(exc).__name__}") from None
            yield response

    def json(self, response: httpx.Response) -> Any:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self._max_body_bytes:
                raise SourceError(f"answer over {self._max_body_bytes:,} bytes")
        return json_answer(body, f"mastodon {self.name}")


def _require_ok(response: httpx.Response) -> None:
    """HttpStatus (with the Retry-After the server gave) unless the answer is a 200."""
    if response.status_code != 200:
        retry = parse_retry_after(response.headers.get("retry-after", ""))
        raise HttpStatus(response.status_code, retry_after=retry)


def _shutdown(response: httpx.Response) -> None:
    """Wake a thread blocked reading this response: shut its socket down."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

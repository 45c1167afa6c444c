"""Mastodon hashtag source: the streaming API (server-sent events), caught up from the REST
tag timeline on every (re)connect, falling back to polling that timeline, then the tag RSS.

The stream is subscribed *before* the catch-up, so a status posted while we catch up arrives
on the stream: nothing falls between the two. Mastodon ids are numeric strings that sort by
time; the cursor is the newest id handed to `emit`. Mastodon >= 4.2 streams hashtags only to
a user token (401 without one), while the tag timeline stays public unless the instance has
disabled public preview; the tag RSS feed is always public.

This module decides what to read when and what is new; the HTTP itself (the guarded requests,
the instance info, the timeline page, reading the event stream) is bot/sources/mastodon_client.py.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from prometheus_client import Counter

from bot.config import SourceConfig
from bot.http import FetchError, HttpFetcher, redact
from bot.sources.base import (
    DEFAULT_LIMITS,
    Emit,
    RecentIds,
    SourceError,
    SourceLimits,
    reach_of,
)
from bot.sources.feeds import parse_feed
from bot.sources.mastodon_api import (
    REACH_COUNTS,
    id_from_url,
    id_key,
    id_of_status,
    link_min_id,
    newer,
    own_status_id,
    status_to_entry,
)
from bot.sources.mastodon_client import PAGE_LIMIT, HttpStatus, MastodonClient
from bot.sources.sse import SseDecoder, SseEvent

log = logging.getLogger(__name__)

MALFORMED = Counter(
    "mentionbot_mastodon_malformed_events_total",
    "Mastodon stream events or statuses that could not be read (skipped)",
    ["source"],
)

REFUSED = frozenset({401, 403, 404, 410})  # the stream will not be served to us: poll instead
NEEDS_TOKEN = frozenset({401, 403})
SEEN_IDS = 5000  # ids remembered to skip what the catch-up and the stream both deliver
REACH_ITEMS = 50  # statuses refreshed per call: open alerts, not the whole history
REACH_BUDGET = 15.0  # seconds per refresh: a slow instance must not hold up reminders


@dataclass(frozen=True, slots=True)
class Tuning:
    poll_interval: float = 60.0  # between polls when the stream is refused or failing
    stream_retry: float = 900.0  # while polling, try the stream again this often
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    failures_before_polling: int = 5  # consecutive stream failures before polling instead
    read_timeout: float = 60.0  # Mastodon sends a heartbeat every ~15 s: silence means dead
    max_catch_up_pages: int = 50  # 2,000 statuses; a longer gap jumps to the newest
    max_line_bytes: int = 1_000_000
    max_event_bytes: int = 2_000_000
    max_body_bytes: int = 5_000_000


class MastodonSource:
    def __init__(
        self,
        api: MastodonClient,
        *,
        tuning: Tuning = Tuning(),
        limits: SourceLimits = DEFAULT_LIMITS,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.api = api
        self.name, self.instance, self.tag = api.name, api.instance, api.tag
        self.fetcher = api.fetcher
        self.tuning, self.limits, self.rng = tuning, limits, rng
        self.mode = ""  # "stream", "timeline" or "rss": what we read from, for logs and check
        self.cursor = ""
        self._seen = RecentIds(SEEN_IDS)
        # Each status's id on this instance, by its uri (the mention's external id): a status
        # from another server has an id here that its uri does not say.
        self._local_ids: OrderedDict[str, str] = OrderedDict()
        self._rss_etag = self._rss_modified = ""
        self._last_error = ""
        self._retry_timeline = False
        self.events = 0  # stream events received, all connections

    # ---- the loop -------------------------------------------------------------------------

    def run(self, emit: Emit, cursor: str, stop: threading.Event) -> None:
        self.cursor, t = cursor, self.tuning
        with self._open():
            self.api.discover()
            polling_until, failures = 0.0, 0
            while not stop.is_set():
                if time.monotonic() < polling_until:
                    asked = self._poll(emit)  # a 429's Retry-After, when it said
                    stop.wait(max(t.poll_interval, min(asked or 0.0, t.backoff_max * 4)))
                    continue
                started, events = time.monotonic(), self.events
                try:
                    self._stream_once(emit, stop)
                except HttpStatus as exc:
                    if exc.status in REFUSED or exc.status == 200:  # 200: answered, not SSE
                        self._to_polling(f"streaming refused ({exc}), polling instead")
                        polling_until = time.monotonic() + t.stream_retry
                        continue
                    failures += 1
                    self._error(f"stream: {exc}")
                    if exc.retry_after is not None:
                        stop.wait(min(exc.retry_after, t.backoff_max * 4))
                        continue
                except (httpx.HTTPError, FetchError, SourceError, OSError) as exc:
                    failures += 1
                    self._error(f"stream: {type(exc).__name__}: {exc}")
                if self.events > events or time.monotonic() - started > 60:
                    failures = 0  # it worked for a while: start the backoff over
                if failures >= t.failures_before_polling:
                    self._to_polling(f"stream failed {failures} times, polling instead")
                    polling_until, failures = time.monotonic() + t.stream_retry, 0
                    continue
                stop.wait(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        delay = min(self.tuning.backoff_max, self.tuning.backoff_base * 2 ** max(0, failures - 1))
        return delay / 2 + self.rng() * delay / 2  # jitter: replicas do not reconnect in step

    def _to_polling(self, why: str) -> None:
        """Logged once: a stream retry refused again while polling is only noted at debug (and
        lets an RSS poller try the timeline again, in case public preview came back)."""
        polling = self.mode in ("timeline", "rss")
        log.log(logging.DEBUG if polling else logging.WARNING, "mastodon %s: %s", self.name, why)
        self._retry_timeline, self.mode = True, self.mode if polling else "timeline"

    def _error(self, message: str) -> None:
        """Each distinct error is logged as a warning once; its repeats only at debug."""
        level = logging.DEBUG if message == self._last_error else logging.WARNING
        log.log(level, "mastodon %s: %s", self.name, message)
        self._last_error = message

    def _open(self) -> AbstractContextManager[MastodonClient]:
        """The client's limits are read from `tuning` now, not at construction: it may be
        replaced between build() and run()."""
        return self.api.open(
            read_timeout=self.tuning.read_timeout, max_body_bytes=self.tuning.max_body_bytes
        )

    # ---- streaming ------------------------------------------------------------------------

    def _stream_once(self, emit: Emit, stop: threading.Event) -> None:
        """Subscribe, catch up from the cursor, then hand on events until the connection ends
        or `stop`."""
        with self.api.hashtag_stream() as response:
            self._catch_up(emit)
            if self.mode != "stream":
                log.info("mastodon %s: streaming #%s from %s", self.name, self.tag,
                         redact(self.api.streaming))  # fmt: skip
                self.mode, self._last_error = "stream", ""
            decoder = SseDecoder(self.tuning.max_line_bytes, self.tuning.max_event_bytes)
            self.api.read_events(response, decoder, stop, lambda event: self._handle(event, emit))

    def _handle(self, event: SseEvent, emit: Emit) -> None:
        self.events += 1
        if event.oversized:
            return self._malformed(f"{event.event} event over the size cap")
        if event.event == "update":
            try:
                status = json.loads(event.data)
            except (ValueError, RecursionError) as exc:
                return self._malformed(f"update that is not JSON ({exc})")
            self._emit_statuses(emit, [status])
        elif event.event == "delete":
            log.debug("mastodon %s: status %s deleted", self.name, event.data[:40])
        # status.update (an edit) and others: the status is stored already, or never matched

    def _malformed(self, why: str) -> None:
        MALFORMED.labels(self.name).inc()
        log.warning("mastodon %s: skipped a malformed %s", self.name, why)

    def _emit_statuses(self, emit: Emit, statuses: Sequence[Any]) -> None:
        """Statuses oldest first as one batch, with the newest id as the cursor; what was
        handed on already (the catch-up and the stream overlap) is left out."""
        entries, cursor = [], self.cursor
        for status in sorted(statuses, key=lambda s: id_key(id_of_status(s))):
            status_id = id_of_status(status)
            if not status_id or status_id in self._seen:
                if not status_id:
                    self._malformed("status without id")
                continue
            try:
                entry = status_to_entry(self.name, status)
                entries.append(entry)
                self._remember(entry.external_id, status)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                self._malformed(f"status {status_id[:30]} ({type(exc).__name__}: {exc})")
            self._seen.add(status_id)
            cursor = newer(status_id, cursor)
        if entries or cursor != self.cursor:
            emit(entries, cursor)
            self.cursor = cursor

    def _remember(self, uri: str, status: dict[str, Any]) -> None:
        local = id_of_status(status.get("reblog") or status)
        if local:
            self._local_ids[uri] = local
            self._local_ids.move_to_end(uri)
            while len(self._local_ids) > SEEN_IDS:
                self._local_ids.popitem(last=False)

    # ---- reach ----------------------------------------------------------------------------

    def reach(self, external_ids: Sequence[str]) -> dict[str, int]:
        """Boosts, favourites and replies now, as this instance counts them, of the statuses
        it gave (by uri). Asked of this instance only, never of the servers the statuses come
        from; one that does not answer is left out and asked again at the next refresh."""
        wanted = {}
        for uri in external_ids[:REACH_ITEMS]:
            local = self._local_ids.get(uri) or own_status_id(uri, self.instance)
            if local:
                wanted[uri] = local
        found: dict[str, int] = {}
        if not wanted:
            return found
        deadline = time.monotonic() + REACH_BUDGET
        api = self.api.twin()  # the stream's client stays the stream's
        with api.open(read_timeout=self.tuning.read_timeout,
                      max_body_bytes=self.tuning.max_body_bytes):  # fmt: skip
            for uri, local in wanted.items():
                if time.monotonic() > deadline:
                    log.info("mastodon %s: reach refresh out of time; the rest next time",
                             self.name)  # fmt: skip
                    break
                try:
                    status = api.status(local)
                except (HttpStatus, httpx.HTTPError, FetchError, SourceError, OSError) as exc:
                    log.info("mastodon %s: no reach for status %s (%s)", self.name, local, exc)
                    continue
                value = reach_of(status, *REACH_COUNTS) if isinstance(status, dict) else None
                if value is not None:
                    found[uri] = value
        return found

    # ---- REST and RSS ---------------------------------------------------------------------

    def _catch_up(self, emit: Emit) -> None:
        """Page forward from the cursor with min_id (each page the oldest statuses newer than
        it) until a page is short. since_id would give the newest 40 and lose the middle of a
        burst. A new source (no cursor) starts from the newest page."""
        if not self.cursor:
            self._emit_statuses(emit, self.api.timeline_page("")[0])
            return
        for _page in range(self.tuning.max_catch_up_pages):
            statuses, link = self.api.timeline_page(self.cursor)
            self._emit_statuses(emit, statuses)
            if len(statuses) < PAGE_LIMIT:
                return
            newest = max((id_of_status(s) for s in statuses), key=id_key)
            self.cursor = newer(newer(link_min_id(link), newest), self.cursor)
        log.warning("mastodon %s: more than %d statuses missed; skipping to the newest",
                    self.name, self.tuning.max_catch_up_pages * PAGE_LIMIT)  # fmt: skip
        self._emit_statuses(emit, self.api.timeline_page("")[0])

    def _poll(self, emit: Emit) -> float | None:
        try:
            if self.mode != "rss" or self._retry_timeline:
                self._retry_timeline = False
                try:
                    self._catch_up(emit)
                    if self.mode == "rss":
                        log.warning("mastodon %s: the tag timeline answers again", self.name)
                    self.mode = "timeline"
                    return None
                except HttpStatus as exc:
                    if exc.status not in NEEDS_TOKEN:
                        raise
                    if self.mode != "rss":
                        log.warning("mastodon %s: the tag timeline needs a token (%s); reading "
                                    "the tag RSS feed instead", self.name, exc)  # fmt: skip
                    self.mode = "rss"
            self._poll_rss(emit)
        except (HttpStatus, httpx.HTTPError, FetchError, SourceError, OSError) as exc:
            self._error(f"{self.mode} poll failed: {type(exc).__name__}: {exc}")
            return getattr(exc, "retry_after", None)
        return None

    def _poll_rss(self, emit: Emit) -> None:
        url = f"{self.instance}/tags/{quote(self.tag, safe='')}.rss"
        response = self.fetcher.get(url, etag=self._rss_etag, last_modified=self._rss_modified)
        self._rss_etag, self._rss_modified = response.etag, response.last_modified
        if response.status == 304:
            return
        entries, cursor = [], self.cursor
        for entry in parse_feed(self.name, response.body, response.headers.get("content-type", "")):
            status_id = id_from_url(entry.url)
            if status_id in self._seen:
                continue
            if status_id:
                self._seen.add(status_id)
                cursor = newer(status_id, cursor)
            entries.append(entry)
        entries.sort(key=lambda e: id_key(id_from_url(e.url)))
        if entries:
            emit(entries, cursor)
            self.cursor = cursor

    # ---- check ----------------------------------------------------------------------------

    def check(self) -> str:
        """One look: instance info, the stream's answer, and what we would fall back to."""
        with self._open():
            info = self.api.discover()
            if not info:
                raise SourceError(f"no Mastodon instance info at {redact(self.instance)}")
            version = f" (Mastodon {info.get('version', '?')})"
            try:
                with self.api.hashtag_stream():
                    pass
                return f"streaming #{self.tag} from {redact(self.api.streaming)}{version}"
            except HttpStatus as exc:
                refused = f"streaming refused ({exc.status})"
            except (httpx.HTTPError, FetchError, OSError) as exc:
                refused = f"streaming failed ({type(exc).__name__})"
            try:
                statuses = self.api.timeline_page("")[0]
                return f"{refused}, will poll the tag timeline ({len(statuses)} statuses){version}"
            except HttpStatus as exc:
                if exc.status not in NEEDS_TOKEN:
                    raise SourceError(f"{refused}; the tag timeline answered {exc}") from None
                timeline = f"the tag timeline needs a token ({exc.status})"
            except (httpx.HTTPError, FetchError, OSError) as exc:
                raise SourceError(f"{refused}; the tag timeline failed: {exc}") from None
            try:
                rss = f"{self.instance}/tags/{quote(self.tag, safe='')}.rss"
                entries = parse_feed(self.name, self.fetcher.get(rss).body)
            except FetchError as exc:
                raise SourceError(f"{refused}, {timeline}, and the RSS feed: {exc}") from None
            return f"{refused}, {timeline}, will read the tag RSS feed ({len(entries)} entries)"


def build(
    config: SourceConfig,
    settings: Any,
    fetcher: HttpFetcher,
    *,
    matches: Callable[[str], bool] | None = None,
) -> MastodonSource:
    """`matches` is unused: a hashtag stream is already narrow."""
    token = os.environ.get(config.token_env, "") if config.token_env else ""
    if config.token_env and not token:
        # Mastodon >= 4.2 streams hashtags only to a user token: without one, this polls.
        log.warning("mastodon %s: %s is not set", config.name, config.token_env)
    limits = SourceLimits(
        min_interval=10.0,
        default_interval=60.0,
        requests_per_minute=300 / 5,  # Mastodon's default: 300 requests per 5 minutes
        needs=(config.token_env,) if config.token_env else (),
    )
    interval = limits.interval(config.interval, 60.0)
    api = MastodonClient(
        config.name or f"mastodon-{config.tag}",
        config.instance.rstrip("/"),
        config.tag.lstrip("#"),
        fetcher,
        token=token,
        user_agent=getattr(settings, "user_agent", "mentionbot"),
        timeout=getattr(settings, "fetch_timeout", 20.0),
    )
    return MastodonSource(api, tuning=Tuning(poll_interval=interval), limits=limits)

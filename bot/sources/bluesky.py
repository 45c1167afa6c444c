"""Bluesky through Jetstream: a public WebSocket that carries every Bluesky post as JSON.

Jetstream's cursor is the `time_us` of an event (unix microseconds, the time Jetstream saw it);
our cursor is the `time_us` of the last event we processed. On every (re)connect we ask for
`cursor=` a few seconds earlier, as Jetstream recommends for gapless playback: a replayed match
we handed on already is dropped here (by id), and after a restart by the pipeline's dedup.

Matches are handed on at once (latency is the point of a firehose); otherwise the cursor is
saved with an empty batch at most every few seconds, not once per event.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.frames import CloseCode
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from bot.config import SourceConfig
from bot.guarded_net import guarded_connection
from bot.http import (
    FetchError,
    HttpFetcher,
    parse_retry_after,
    redact,
)
from bot.models import RawEntry
from bot.sources.base import Emit, RecentIds, SourceError, SourceLimits
from bot.sources.jetstream_events import Malformed, parse_event, post_to_entry, subscribe_url

log = logging.getLogger(__name__)

SKIPPED = Counter(
    "mentionbot_bluesky_skipped_events_total",
    "Jetstream messages that could not be used (malformed, oversized, unknown kind)",
    ["source", "reason"],
)

KNOWN_KINDS = frozenset({"commit", "identity", "account"})
HANDED_IDS = 10_000  # matches remembered so a replay does not hand them on again
LIMITS = SourceLimits(needs=("JETSTREAM_URL",))  # pushed: no interval, no rate to respect


@dataclass(frozen=True, slots=True)
class Tuning:
    backoff_base: float = 1.0
    backoff_max: float = 120.0
    rewind: float = 5.0  # seconds asked for again on reconnect
    save_every: float = 5.0  # seconds between cursor saves when nothing matched
    batch_delay: float = 0.25  # the longest a match waits for others queued behind it
    batch_size: int = 100
    poll: float = 0.25  # recv timeout: how often `stop` is looked at
    idle_timeout: float = 60.0  # no message for this long (Jetstream never pauses): reconnect
    max_event_bytes: int = 1_000_000  # asked of Jetstream; larger frames are skipped here
    hard_cap_factor: int = 4  # larger than this times the cap, websockets cuts the connection
    oversized_skip_us: int = 1_000  # stream time jumped over a frame that cut the connection
    open_timeout: float = 10.0
    close_timeout: float = 1.0
    check_timeout: float = 10.0


# ---- the stream -----------------------------------------------------------------------------


class JetstreamSource:
    def __init__(
        self,
        name: str,
        url: str,
        fetcher: HttpFetcher,
        *,
        matches: Callable[[str], bool] | None = None,
        user_agent: str = "mentionbot",
        tuning: Tuning = Tuning(),
        limits: SourceLimits = LIMITS,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.name, self.url, self.fetcher, self.matches = name, url, fetcher, matches
        self.user_agent, self.tuning, self.limits, self.rng = user_agent, tuning, limits, rng
        self.cursor = 0  # time_us of the last event processed (0: none yet)
        self.saved = 0  # the cursor last handed to emit
        self.events = 0  # messages received, all connections
        self.connections = 0
        self._pending: list[RawEntry] = []  # matches not yet handed on
        self._handed = RecentIds(HANDED_IDS)
        self._pending_since = 0.0
        self._saved_at = 0.0
        self._last_seen = 0  # time_us of the last event read on the current connection
        self._oversized_in_a_row = 0
        self._resume_at: int | None = None  # a cursor to use as it is (past an oversized frame)
        self._warned: dict[str, float] = {}
        self._last_error = ""

    # ---- the loop -------------------------------------------------------------------------

    def run(self, emit: Emit, cursor: str, stop: threading.Event) -> None:
        self.cursor = self.saved = _cursor_of(cursor, self.name)
        failures = 0
        while not stop.is_set():
            events = self.events
            wait: float | None = None
            try:
                self._stream_once(emit, stop)
            except FetchError as exc:  # refused by the URL guard, or the peer check
                failures += 1
                self._error(f"{exc}")
                if exc.permanent:
                    wait = self.tuning.backoff_max
            except InvalidStatus as exc:
                failures += 1
                status = exc.response.status_code
                self._error(f"the handshake was answered with HTTP {status}")
                retry = parse_retry_after(exc.response.headers.get("Retry-After", ""))
                wait = None if retry is None else min(retry, self.tuning.backoff_max * 4)
            except ConnectionClosed as exc:
                failures += 1
                self._closed(exc)
            except (WebSocketException, OSError, TimeoutError) as exc:
                failures += 1
                self._error(f"{type(exc).__name__}: {exc}")
            finally:
                self._flush(emit, force=True)
            if self.events > events:
                failures = min(failures, 1)  # it worked: start the backoff over
            if not stop.is_set():
                stop.wait(self._backoff(failures) if wait is None else wait)

    def _stream_once(self, emit: Emit, stop: threading.Event) -> None:
        with self._connect(self._next_cursor()) as ws:
            self.connections += 1
            self._last_error, self._last_seen = "", 0
            log.info("bluesky %s: connected to %s", self.name, redact(self.url))
            t = self.tuning
            heard = time.monotonic()
            while not stop.is_set():
                try:
                    message = ws.recv(timeout=0 if self._pending else t.poll, decode=False)
                except TimeoutError:
                    self._flush(emit, force=bool(self._pending))
                    if time.monotonic() - heard > t.idle_timeout:  # silent, or dripping a frame
                        raise TimeoutError(f"no event for {t.idle_timeout:.0f} s") from None
                    continue
                heard = time.monotonic()
                self.events += 1
                self._handle(message)
                self._flush(emit)

    def _next_cursor(self) -> int | None:
        if self._resume_at is not None:
            cursor, self._resume_at = self._resume_at, None
            return cursor
        if not self.cursor:
            return None  # no cursor yet: the live tail
        return max(1, self.cursor - int(self.tuning.rewind * 1_000_000))

    @contextmanager
    def _connect(self, cursor: int | None) -> Iterator[ClientConnection]:
        url = subscribe_url(self.url, cursor, self.tuning.max_event_bytes)
        guard = self.fetcher.guard
        guard.check(url, client="websockets", resolve=False)
        t = self.tuning
        # Our own socket, connected only to an address the guard checked (and checked again
        # once connected), before the handshake's first byte.
        uri = parse_uri(url)
        try:
            sock = guarded_connection(guard, uri.host, uri.port, t.open_timeout)
        except OSError as exc:
            raise FetchError(f"cannot connect to {redact(url)}: {exc}") from None
        try:
            ws = connect(
                url,
                sock=sock,
                open_timeout=t.open_timeout,
                close_timeout=t.close_timeout,
                max_size=t.max_event_bytes * t.hard_cap_factor,
                max_queue=16,  # frames buffered: with max_size, a bound on memory
                user_agent_header=self.user_agent,
                proxy=None,  # no proxy from the environment may route around the guard
            )
        except (ValueError, InvalidURI) as exc:  # a redirect: never followed (our own socket)
            sock.close()
            raise FetchError(
                f"{redact(url)} answered the handshake with a redirect ({exc})"
            ) from None
        except BaseException:
            sock.close()
            raise
        with ws:
            yield ws

    def _handle(self, message: bytes) -> None:
        if len(message) > self.tuning.max_event_bytes:
            return self._skip("oversized", f"a {len(message):,}-byte message")
        try:
            event = parse_event(message)
            self._last_seen = max(self._last_seen, event["time_us"])
            if event["kind"] not in KNOWN_KINDS:
                return self._skip("unknown_kind", f"an event of kind {event['kind'][:40]!r}")
            entry = post_to_entry(self.name, event)
        except Malformed as exc:
            return self._skip("malformed", f"a malformed message: {exc}")
        time_us = event["time_us"]
        self._oversized_in_a_row = 0
        if entry is not None and (self.matches is None or self.matches(entry.text)):
            # By id, not by time: Jetstream's order is by time only roughly, and the same
            # microsecond may hold more than one event.
            if entry.external_id in self._handed:
                return  # replayed by the rewind, handed on already
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append(entry)
        self.cursor = max(self.cursor, time_us)

    def _flush(self, emit: Emit, *, force: bool = False) -> None:
        """Hand on what matched (at once when nothing is queued behind it, else in batches),
        or only the cursor, at most every `save_every` seconds."""
        t, now = self.tuning, time.monotonic()
        if self._pending:
            due = (
                force
                or len(self._pending) >= t.batch_size
                or now - self._pending_since >= t.batch_delay
            )
        else:
            due = self.cursor != self.saved and (force or now - self._saved_at >= t.save_every)
        if not due:
            return
        pending, self._pending = self._pending, []
        try:
            emit(pending, str(self.cursor) if self.cursor else "")
        except BaseException:
            # Not stored (the database is away, say): kept, so that no later emit can save a
            # cursor past them.
            self._pending = pending + self._pending
            raise
        for entry in pending:
            self._handed.add(entry.external_id)
        self.saved, self._saved_at = self.cursor, now

    # ---- trouble --------------------------------------------------------------------------

    def _closed(self, exc: ConnectionClosed) -> None:
        if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
            # A frame over the hard cap ends the connection, and would end every connection
            # that replays it: resume just past the last event read, further each time.
            self._oversized_in_a_row += 1
            skip = self.tuning.oversized_skip_us * 2 ** (self._oversized_in_a_row - 1)
            start = self._last_seen or self.cursor
            if start:
                self._resume_at = start + skip
            self._skip("oversized", "a message over the connection's size limit")
            log.error("bluesky %s: skipping %.3f s of the stream after %d to get past it",
                      self.name, skip / 1e6, start)  # fmt: skip
            return
        why = f"code {exc.rcvd.code}" if exc.rcvd is not None else "no close frame"
        self._error(f"the connection was closed ({why}); reconnecting")

    def _skip(self, reason: str, detail: str) -> None:
        """Counted always; logged as a warning once a minute per reason (a firehose can
        repeat a fault thousands of times), else at debug."""
        SKIPPED.labels(self.name, reason).inc()
        now = time.monotonic()
        quiet = now - self._warned.get(reason, -1e9) < 60.0
        if not quiet:
            self._warned[reason] = now
        log.log(logging.DEBUG if quiet else logging.WARNING, "bluesky %s: skipped %s",
                self.name, detail)  # fmt: skip

    def _error(self, message: str) -> None:
        """Each distinct error is logged as a warning once; its repeats only at debug."""
        level = logging.DEBUG if message == self._last_error else logging.WARNING
        log.log(level, "bluesky %s: %s", self.name, message)
        self._last_error = message

    def _backoff(self, failures: int) -> float:
        t = self.tuning
        delay = min(t.backoff_max, t.backoff_base * 2 ** max(0, failures - 1))
        return delay / 2 + self.rng() * delay / 2  # jitter: replicas do not reconnect in step

    # ---- check ----------------------------------------------------------------------------

    def check(self) -> str:
        """Connect once and wait for one message."""
        started = time.monotonic()
        try:
            with self._connect(None) as ws:
                connected = time.monotonic()
                ws.recv(timeout=self.tuning.check_timeout, decode=False)
                first = time.monotonic() - connected
        except FetchError as exc:
            raise SourceError(str(exc), permanent=exc.permanent) from None
        except TimeoutError:
            raise SourceError(
                f"connected to {redact(self.url)}, but no event within "
                f"{self.tuning.check_timeout:.0f} s"
            ) from None
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise SourceError(f"{redact(self.url)} answered HTTP {status}") from None
        except (WebSocketException, OSError) as exc:
            raise SourceError(f"{redact(self.url)}: {type(exc).__name__}: {exc}") from None
        return (
            f"connected to jetstream {redact(self.url)} in {connected - started:.1f} s; "
            f"first event {first:.1f} s"
        )


def _cursor_of(cursor: str, name: str) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(cursor))
    except ValueError:
        log.warning("bluesky %s: saved cursor %r is not a time_us; starting live", name, cursor)
        return 0


def build(
    config: SourceConfig,
    settings: Any,
    fetcher: HttpFetcher,
    *,
    matches: Callable[[str], bool] | None = None,
) -> JetstreamSource:
    """`matches` drops the firehose's posts that cannot match before they are queued."""
    timeout = float(getattr(settings, "fetch_timeout", 20.0))
    return JetstreamSource(
        config.name or "bluesky",
        config.url or settings.jetstream_url,
        fetcher,
        matches=matches,
        user_agent=getattr(settings, "user_agent", "mentionbot"),
        tuning=Tuning(open_timeout=min(10.0, timeout), check_timeout=max(10.0, timeout)),
        limits=LIMITS,
    )

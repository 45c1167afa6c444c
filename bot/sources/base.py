"""The Source protocol and the small state a source carries between polls."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.failures import Failure
from bot.models import RawEntry


@dataclass(frozen=True, slots=True)
class FeedState:
    """What a source remembers between polls (kept in the store, so it survives restarts)."""

    etag: str = ""
    last_modified: str = ""
    cursor: str = ""  # where an API or stream source resumes (a timestamp, an event cursor)


@dataclass(frozen=True, slots=True)
class FetchResult:
    entries: list[RawEntry] = field(default_factory=list)
    state: FeedState = FeedState()
    not_modified: bool = False  # the server answered 304: nothing new, entries is empty
    min_wait: float | None = None  # seconds the server asked us not to come back before


@dataclass(frozen=True, slots=True)
class SourceLimits:
    """What a source declares about itself, so the poller and `mentionbot check` respect it.

    `min_interval`: the platform's floor between polls (the poller never polls sooner).
    `default_interval`: how often to poll when the watch list does not say (None: POLL_INTERVAL).
    `requests_per_minute`: the platform's published rate limit for one client (None: unknown).
    `needs`: settings or credentials it reads, as their environment names, for `check`.
    """

    min_interval: float = 0.0
    default_interval: float | None = None
    requests_per_minute: float | None = None
    needs: tuple[str, ...] = ()

    def interval(self, configured: float | None, fallback: float) -> float:
        """How often to poll: the watch list's interval, else the source's default, else
        `fallback` (POLL_INTERVAL); never under the platform's floor."""
        return max(configured or self.default_interval or fallback, self.min_interval)


DEFAULT_LIMITS = SourceLimits()


def limits_of(source: object) -> SourceLimits:
    """A source's declared limits; a source that declares none gets the defaults."""
    limits = getattr(source, "limits", None)
    return limits if isinstance(limits, SourceLimits) else DEFAULT_LIMITS


class SourceError(Failure):
    """A poll failed. `permanent`: retrying soon will not help (404, not a feed, refused URL).
    `retry_after`: seconds the server asked us to stay away (429/503), when it said."""


class RecentIds:
    """The last `limit` ids a source handed on, so an overlap it asks for on purpose (a
    rewound cursor, a catch-up beside a stream, a search window reaching back) is dropped at
    the source instead of costing the pipeline a dedup lookup each time."""

    def __init__(self, limit: int) -> None:
        self._order: deque[str] = deque(maxlen=limit)
        self._ids: set[str] = set()

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def add(self, item: str) -> bool:
        """Remember `item`; False when it was remembered already."""
        if item in self._ids:
            return False
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(item)
        self._ids.add(item)
        return True


def json_answer(body: bytes | bytearray, what: str) -> Any:
    """A platform's JSON answer, or a transient SourceError that says `what` answered with
    something else (a proxy's HTML error page, a cut body): the next poll may well work."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError(
            f"{what} answered with something that is not JSON "
            f"({type(exc).__name__}: {str(exc)[:80]})"
        ) from None


class Source(Protocol):
    name: str
    # optional: `limits: SourceLimits` (see limits_of)

    def fetch(self, state: FeedState) -> FetchResult:
        """One poll. Raises SourceError; never returns a partial failure silently."""
        ...


# A stream source hands each batch of entries, with the cursor that follows them, to this
# callback; the callback returns once the entries are stored, and only then saves the cursor.
# So a reconnect or a restart resumes from the last stored batch: nothing lost, and what is
# replayed is dropped by dedup.
Emit = Callable[[Sequence[RawEntry], str], None]


class StreamSource(Protocol):
    """A source the platform pushes to (a WebSocket, a streaming HTTP API)."""

    name: str

    def run(self, emit: Emit, cursor: str, stop: threading.Event) -> None:
        """Consume the stream from `cursor` until `stop` is set, reconnecting with backoff.
        Never returns early on a network error; logs and reconnects."""
        ...


def reach_of(data: dict[str, Any], *counts: str) -> int | None:
    """How far an item has gone, as its platform counts it (points, comments, boosts,
    favourites): the sum of the counts it gives; None when it gives none."""
    found = [data.get(name) for name in counts]
    numbers = [max(0, n) for n in found if isinstance(n, int) and not isinstance(n, bool)]
    return sum(numbers) if numbers else None

"""The Source protocol and the small state a source carries between polls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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


class SourceError(Exception):
    """A poll failed. `permanent`: retrying soon will not help (404, not a feed, refused URL)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Source(Protocol):
    name: str

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

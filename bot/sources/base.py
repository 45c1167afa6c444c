"""The Source protocol and the small state a source carries between polls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.models import RawEntry


@dataclass(frozen=True, slots=True)
class FeedState:
    """What a source remembers between polls (kept in the store, so it survives restarts)."""

    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True, slots=True)
class FetchResult:
    entries: list[RawEntry] = field(default_factory=list)
    state: FeedState = FeedState()
    not_modified: bool = False  # the server answered 304: nothing new, entries is empty


class SourceError(Exception):
    """A poll failed. `permanent` means retrying soon will not help (404, not a feed, refused URL)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Source(Protocol):
    name: str

    def fetch(self, state: FeedState) -> FetchResult:
        """One poll. Raises SourceError; never returns a partial failure silently."""
        ...

"""Errors that say whether retrying soon can help: `Failure`, the shape every retry decision
reads (bot/sources/retry.py, the poller's backoff), and `FetchError`, what every fetch raises,
from the fetchers (bot/http.py, bot/http_async.py) and from the URL guard
(bot/url_guard.py). A module of its own so that the guard and the fetcher, which uses the
guard, can both raise FetchError without importing each other; sources catch it as
`bot.http.FetchError` and raise their own `SourceError` (bot/sources/base.py)."""

from __future__ import annotations


class Failure(Exception):
    """`permanent`: retrying soon will not help. `retry_after`: seconds the other side asked
    us to wait (429/503), when it said."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class FetchError(Failure):
    """A fetch failed (refused URL, network, status, size)."""

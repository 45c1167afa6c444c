"""The seam between the outbox and a chat service, and the console fallback.

The outbox calls `post_alert` for each due alert. A notifier either returns the posted
message's id (Slack's `ts`; "" where there is none) or raises `DeliveryError` saying whether
trying again can help (`permanent`) and how long the service asked us to wait (`retry_after`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TextIO

from bot.chat.text import ago, clean, one_line, trim
from bot.models import Mention

EXCERPT_CHARS = 500


class DeliveryError(Exception):
    """An alert was not delivered.

    `permanent`: retrying unchanged will fail again (unknown channel, bad token) until someone
    fixes the configuration. `retry_after`: seconds the service asked us to wait, if it said.
    `uncertain`: the message may have been posted all the same (a timeout, a 5xx after the
    request was sent), so the outbox asks `find_posted` before posting it again.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        uncertain: bool = False,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.uncertain = uncertain

    def __repr__(self) -> str:
        return (
            f"DeliveryError({str(self)!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, uncertain={self.uncertain})"
        )


class Notifier(Protocol):
    """What the outbox needs. A notifier may also offer
    `find_posted(mention, channel) -> str | None`: the id of an alert an interrupted attempt
    already posted (the outbox calls it, when present, before posting again)."""

    def post_alert(self, mention: Mention, channel: str) -> str:
        """Post one alert; return the message id. Raises DeliveryError."""
        ...


class ConsoleNotifier:
    """Prints alerts readably: what a newcomer sees before they have Slack tokens."""

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # lines of two alerts never interleave

    def post_alert(self, mention: Mention, channel: str) -> str:
        text = format_console_alert(mention, channel, self.clock())
        with self._lock:
            self.stream.write(text)
            self.stream.flush()
        return ""

    def post_notice(self, channel: str, text: str) -> None:
        with self._lock:
            self.stream.write(
                f"ℹ {'#' + one_line(channel) + ' · ' if channel else ''}{clean(text)}\n"
            )
            self.stream.flush()


def format_console_alert(mention: Mention, channel: str, now: datetime) -> str:
    v = mention.verdict
    rule = "─" * 72
    lines = [
        rule,
        f"⚠ {one_line(mention.brand)} · {v.sentiment.value} ({v.score:+.2f})"
        f" · attention {v.attention:.2f}" + (f" · {_channel(channel)}" if channel else ""),
        f"  {one_line(mention.source)} · {one_line(mention.author) or 'unknown author'}"
        f" · {ago(mention.published_at or mention.fetched_at, now)}",
    ]
    if mention.title:
        lines.append(f"  {trim(one_line(mention.title), 200)}")
    excerpt = trim(one_line(mention.text), EXCERPT_CHARS)
    if excerpt:
        lines.append(f"  “{excerpt}”")
    lines.append(f"  {clean(mention.url)}")
    detail = f"  matched: {one_line(mention.matched_term)}"
    if v.reason:
        detail += f" · why: {one_line(v.reason)}"
    lines.append(detail)
    if mention.id is not None:
        lines.append(f"  mention #{mention.id}")
    lines.append(rule)
    return "\n".join(lines) + "\n"


def _channel(channel: str) -> str:
    name = one_line(channel)
    return name if name.startswith("#") else "#" + name

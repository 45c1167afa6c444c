"""The console adapter: prints alerts and notices readably. What a newcomer sees before they
have chat tokens, and what `mentionbot demo` shows. It stands in for every platform."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from bot.chat.port import Capabilities, Limits
from bot.chat.text import ago, clean, one_line, trim
from bot.chat.views import AlertView, Line, Link, Person, When
from bot.models import MessageRef, Route

EXCERPT_CHARS = 500


class ConsoleAdapter:
    platform = "console"
    capabilities = Capabilities(
        finds_posted=False, answers_privately=False, updates_in_place=False, threads=False
    )
    limits = Limits(
        text_chars=10_000, message_elements=1_000, fallback_chars=10_000, posts_per_second=1_000.0
    )

    def __init__(
        self, stream: TextIO | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # lines of two messages never interleave

    def post_alert(self, route: Route, view: AlertView) -> MessageRef:
        self._write(format_console_alert(view, route, self.clock()))
        return MessageRef(route.platform, route.channel, "")

    def find_alert(self, route: Route, mention_id: int, since: datetime) -> MessageRef | None:
        return None

    def update_alert(self, message: MessageRef, view: AlertView) -> None:
        """A terminal cannot redraw: print the new state line instead."""
        self._write(f"↻ mention #{view.mention_id}: {render_line(view.state, self.clock())}\n")

    def post_note(self, route: Route, lines: tuple[Line, ...], thread: MessageRef | None) -> None:
        text = "\n".join(render_line(line, self.clock()) for line in lines)
        self._write(f"ℹ {_channel(route)} · {clean(text)}\n")

    def channel_id(self, route: Route) -> str:
        return route.channel

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()


def render_line(line: Line, now: datetime) -> str:
    out = []
    for part in line:
        if isinstance(part, Person):
            out.append(one_line(part.name) or one_line(part.key.partition(":")[2] or part.key))
        elif isinstance(part, When):
            out.append(ago(part.at, now))
        elif isinstance(part, Link):
            out.append(f"{one_line(part.label)} ({one_line(part.url)})")
        else:
            out.append(clean(part))
    return "".join(out)


def format_console_alert(view: AlertView, route: Route, now: datetime) -> str:
    rule = "─" * 72
    fields = dict(view.fields)
    lines = [
        rule,
        f"⚠ {one_line(view.brand)} · {render_line(fields['Sentiment'], now)} · {_channel(route)}",
        f"  {render_line(fields['Source'], now)} · {render_line(fields['Author'], now)}"
        f" · {render_line(fields['Published'], now)}",
    ]
    if view.title and view.title != "(untitled)":
        lines.append(f"  {trim(one_line(view.title), 200)}")
    excerpt = trim(one_line(view.excerpt), EXCERPT_CHARS)
    if excerpt:
        lines.append(f"  “{excerpt}”")
    lines.append(f"  {clean(view.url)}")
    lines.append(f"  matched: {render_line(fields['Matched'], now).strip('“”')}")
    lines.append("  " + one_line(" · ".join(view.reason)))
    lines.append(rule)
    return "\n".join(lines) + "\n"


def _channel(route: Route) -> str:
    name = one_line(route.channel)
    prefix = "" if route.platform == "slack" else f"{route.platform}:"
    return prefix + (name if name.startswith("#") or prefix else "#" + name)

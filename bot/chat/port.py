"""The seam between the platform-neutral chat core and one chat platform.

A chat adapter only verifies and parses its transport (in its listeners), renders the neutral
views (bot/chat/views.py), and sends. It declares what it can do (`Capabilities`) and its
limits (`Limits`) as data, so the core never guesses: the outbox asks `find_alert` only of
an adapter that can find a message it may have posted, and a private answer goes where the
platform allows one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.chat.views import AlertView, Line
from bot.models import MessageRef, Route


class DeliveryError(Exception):
    """A message was not sent.

    `permanent`: retrying unchanged will fail again (unknown channel, bad token) until someone
    fixes the configuration. `retry_after`: seconds the platform asked us to wait, if it said.
    `uncertain`: the message may have been posted all the same (a timeout, a 5xx after the
    request was sent), so the outbox looks for it before posting it again.
    `route_wide`: the route itself is failing (outage, rate limit, missing channel), not this
    one message: everything queued for it waits, so it goes out in order later.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        uncertain: bool = False,
        route_wide: bool = True,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.uncertain = uncertain
        self.route_wide = route_wide

    def __repr__(self) -> str:
        return (
            f"DeliveryError({str(self)!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, uncertain={self.uncertain})"
        )


@dataclass(frozen=True, slots=True)
class Capabilities:
    finds_posted: bool  # can look for a message an interrupted attempt may have posted
    answers_privately: bool  # can show one person an answer nobody else sees, in place
    updates_in_place: bool  # can redraw a posted message
    threads: bool  # can post under a message


@dataclass(frozen=True, slots=True)
class Limits:
    """What the platform accepts; renderers trim to these, the outbox respects the rate."""

    text_chars: int  # one text element / section
    message_elements: int  # blocks (Slack) or card elements (Teams)
    fallback_chars: int  # the plain notification text
    posts_per_second: float  # per channel, as the platform documents it


class ChatAdapter(Protocol):
    platform: str
    capabilities: Capabilities
    limits: Limits

    def post_alert(self, route: Route, view: AlertView) -> MessageRef:
        """Post an alert; return the platform's reference to it. Raises DeliveryError."""
        ...

    def find_alert(self, route: Route, mention_id: int, since: datetime) -> MessageRef | None:
        """The alert an earlier, interrupted attempt posted, if the platform can tell."""
        ...

    def update_alert(self, message: MessageRef, view: AlertView) -> None:
        """Redraw a posted alert in place. Raises DeliveryError."""
        ...

    def post_note(self, route: Route, lines: tuple[Line, ...], thread: MessageRef | None) -> None:
        """A plain message in `route` (under `thread` when given). Raises DeliveryError."""
        ...

    def channel_id(self, route: Route) -> str:
        """The platform's id for the route's channel (names resolved, cached). Raises
        DeliveryError when the channel cannot be found."""
        ...

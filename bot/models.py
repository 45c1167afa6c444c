"""The nouns of mentionbot: plain dataclasses and enums, no I/O.

Sources yield `RawEntry`; the pipeline turns a matching entry into a scored `Mention` with
the `Route`s its brand sends alerts to; the store keeps mentions, their `Transition` history,
their `Reply`s and one `Delivery` per route (the platform's own reference to the posted
message), plus `Notice`s (plain messages such as ops warnings) waiting to be sent.

People are identified by a *user key* that carries their platform ("slack:U123",
"teams:29:1abc..."), so a Slack user and a Teams user never collide; "system" is the bot.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


class Sentiment(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Platform(enum.StrEnum):
    """The chat platforms alerts can go to."""

    SLACK = "slack"
    TEAMS = "teams"


SYSTEM = "system"  # the user key of the bot itself (deliveries, automatic transitions)


def user_key(platform: str, user_id: str) -> str:
    """The store's name for a person: their platform and the platform's id for them."""
    return f"{platform}:{user_id}"


def split_user_key(key: str) -> tuple[str, str]:
    """("slack", "U123") from "slack:U123"; ("", key) for "system" or anything unprefixed."""
    platform, sep, user_id = key.partition(":")
    if sep and platform in Platform.__members__.values():
        return platform, user_id
    return "", key


@dataclass(frozen=True, slots=True)
class Route:
    """Where a brand's alerts go: a platform and a channel as the watch list names it
    ("#acme-mentions" or "C0123ABC" on Slack; a channel name on Teams)."""

    platform: str
    channel: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.channel}"


def routes_text(routes: Sequence[Route]) -> str:
    """Routes as one text, one "platform:channel" per line (how the store keeps them)."""
    return "\n".join(route.key for route in routes)


def routes_from_text(text: str) -> tuple[Route, ...]:
    routes = []
    for line in text.split("\n"):
        platform, sep, channel = line.partition(":")
        if not line:
            continue
        # Before routes, the text was a bare Slack channel as the watch list named it.
        if sep and platform in Platform.__members__.values():
            routes.append(Route(platform, channel))
        else:
            routes.append(Route("slack", line))
    return tuple(routes)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A posted message as its platform names it: Slack's channel id and ts; Teams'
    conversation id and activity id. Never a channel *name*: platforms update by id."""

    platform: str
    channel_id: str
    message_id: str


class Status(enum.StrEnum):
    """Where a mention stands in the team's workflow (see bot/workflow.py)."""

    NEW = "new"  # stored, not (yet) alerted: not negative, or waiting in the outbox
    ALERTED = "alerted"  # posted to chat, nobody owns it yet
    CLAIMED = "claimed"
    REPLIED = "replied"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One item as a source saw it, before matching and scoring. Sources know nothing more."""

    source: str  # the configured source's name, e.g. "acme-google-alerts"
    external_id: str  # the id the platform gives (guid / atom id / at:// uri); never empty
    url: str
    title: str
    text: str  # plain text (HTML already stripped)
    author: str = ""
    published_at: datetime | None = None  # timezone-aware UTC when known
    reach: int | None = None  # how far it has gone, where the platform says (points, comments)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a scorer says about a text. Every scorer fills every field.

    `attention` (0..1) is the one number the alert rule compares with a threshold; the
    other fields explain it. `reason` is a short human sentence shown on the alert.
    """

    sentiment: Sentiment
    score: float  # signed polarity in -1..1 (negative < 0)
    p_negative: float  # 0..1
    attention: float  # 0..1: how much this needs a human
    lang: str = "und"  # ISO 639-1, "und" when unknown
    p_neutral: float = 0.0
    p_positive: float = 0.0
    p_complaint: float = 0.0
    question: bool = False
    praise: bool = False
    reason: str = ""
    scorer: str = ""


@dataclass(slots=True)
class Mention:
    """A stored entry that matched a brand. `id` is None until the store assigns one."""

    brand: str
    source: str
    external_id: str
    url: str
    canonical_url: str
    title: str
    text: str
    author: str
    published_at: datetime | None
    fetched_at: datetime
    matched_term: str
    verdict: Verdict
    routes: tuple[Route, ...] = ()  # where its alerts go (the brand's routes when stored)
    status: Status = Status.NEW
    id: int | None = None
    owner: str = ""  # user key of whoever holds it ("slack:U123"); "" when nobody does
    text_key: str = ""  # normalised-text dedup key (bot/matching.py)
    labels: tuple[str, ...] = field(default_factory=tuple)
    revision: int = 0  # bumped by every change a chat message shows; redraws compare it
    muted_by: int | None = None  # the mute that kept it out of chat (bot/team/mutes.py)


# "Wrong label" corrections from chat → the label recorded. Sentiment and complaint labels use
# the names of the labelled data sets, so `mentionbot train --with-labels` learns from them;
# "question" and "irrelevant" are kept for the record and for filters.
CORRECTIONS: dict[str, str] = {
    "neutral": "Not negative",
    "complaint": "Is a complaint",
    "question": "Is a question",
    "irrelevant": "Irrelevant",
}


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded status change: who did what, when."""

    mention_id: int
    from_status: Status
    to_status: Status
    actor: str  # user key, or "system"
    at: datetime
    note: str = ""


class ReplyWhere(enum.StrEnum):
    """Where a reply went: a note in the chat thread (the customer has not seen it), or posted
    publicly on the mention's platform under the brand's account (bot/publish)."""

    THREAD = "thread"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Reply:
    actor: str  # user key
    text: str
    at: datetime
    where: ReplyWhere = ReplyWhere.THREAD
    # A public reply: the platform ("mastodon"), the account it was posted as, the link to
    # it and the platform's id for it (to delete it by); who deleted it and when, if anyone.
    platform: str = ""
    account: str = ""
    link: str = ""
    remote_id: str = ""
    id: int | None = None
    deleted_at: datetime | None = None
    deleted_by: str = ""

    @property
    def public(self) -> bool:
        return self.where == ReplyWhere.PUBLIC


@dataclass(frozen=True, slots=True)
class Delivery:
    """One mention's alert on one route: queued until posted, then the platform's reference
    to the message, which every later redraw uses."""

    id: int
    mention_id: int
    route: Route
    attempts: int = 0
    channel_id: str = ""  # what the platform returned (Slack: the channel id); "" until known
    message_id: str = ""  # Slack: the message ts; Teams: the activity id
    delivered_at: datetime | None = None
    last_error: str = ""
    # An earlier attempt may have posted it (the process died mid-delivery, or the request
    # timed out): look for that message before posting again.
    maybe_posted: bool = False

    @property
    def message(self) -> MessageRef | None:
        if not self.message_id:
            return None
        return MessageRef(self.route.platform, self.channel_id, self.message_id)


@dataclass(frozen=True, slots=True)
class Notice:
    """A plain message waiting to be sent to a route: an ops warning, a note for the owner in
    an alert's thread (`thread_of`: that alert's delivery id)."""

    id: int
    route: Route
    text: str
    attempts: int = 0
    thread_of: int | None = None
    ping: tuple[str, ...] = ()  # user or group keys to mention before the text (on-call, owner)
    for_mention: int | None = None  # a reminder about this mention …
    while_status: tuple[Status, ...] = ()  # … dropped unless it is still in one of these


class MuteKind(enum.StrEnum):
    AUTHOR = "author"
    DOMAIN = "domain"
    PHRASE = "phrase"


@dataclass(frozen=True, slots=True)
class Mute:
    """An author, a domain or a phrase a brand does not want alerted, until `until`."""

    id: int
    brand: str
    kind: MuteKind
    value: str  # normalised (bot/team/mutes.py)
    actor: str
    created_at: datetime
    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until

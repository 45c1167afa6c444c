"""The nouns of mentionbot: plain dataclasses and enums, no I/O.

Sources yield `RawEntry`; the pipeline turns a matching entry into a scored `Mention`;
the store keeps mentions, their `Transition` history and the outbox of `Alert`s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Sentiment(enum.StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


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
    channel: str = ""  # chat channel the brand's alerts go to
    status: Status = Status.NEW
    id: int | None = None
    owner: str = ""  # chat user id of whoever claimed it
    text_key: str = ""  # normalised-text dedup key (bot/matching.py)
    labels: tuple[str, ...] = field(default_factory=tuple)


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
    actor: str  # chat user id, or "system"
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """An outbox row: one message to post (or redraw) for one mention in one channel."""

    id: int
    mention_id: int
    channel: str
    attempts: int
    chat_ts: str = ""  # the posted message's timestamp once delivered; used by chat.update
    delivered_at: datetime | None = None
    last_error: str = ""
    # An earlier attempt may have posted it (the process died mid-delivery, or the request
    # timed out): look for that message before posting again.
    maybe_posted: bool = False

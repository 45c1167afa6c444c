"""The store interface every backend implements. Callers never write SQL."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.models import Alert, Mention, Sentiment, Status, Transition
from bot.sources.base import FeedState


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """The outcome of a compare-and-set on a mention's status.

    `ok` is False when the mention was not in one of the expected states (someone else got
    there first); `mention` is then the state that won, so the caller can say who holds it.
    """

    ok: bool
    mention: Mention | None


@dataclass(frozen=True, slots=True)
class MentionQuery:
    words: tuple[str, ...] = ()
    source: str = ""
    brand: str = ""
    sentiment: Sentiment | None = None
    statuses: tuple[Status, ...] = ()
    owner: str = ""
    since: datetime | None = None
    flagged_only: bool = False  # only mentions that were over the alert threshold
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Stats:
    by_sentiment: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    median_seconds_to_claim: float | None = None
    median_seconds_to_resolve: float | None = None
    total: int = 0


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's health as recorded by whichever replica polled it."""

    source: str
    interval: float
    polls: int
    errors: int
    items_seen: int
    consecutive_failures: int
    last_success_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    failing_since: datetime | None
    ops_alerted_at: datetime | None


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one finished poll leaves in the store: its health, its lease given back until
    `next_due`, and its new state when it has one (saved only once its entries are stored)."""

    source: str
    at: datetime
    interval: float
    next_due: datetime
    items: int = 0
    error: str = ""
    state: FeedState | None = None


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Mentions a volume bound stored without an alert (bot/volume.py summarises them).
    `reason`: "per_poll" (over `limit` new mentions in one poll of `source`) or "per_minute"
    (over `limit` alerts a minute for `brand`). `hosts`: how many came from each site."""

    id: int
    brand: str
    channel: str
    source: str
    reason: str
    limit: int
    mentions: int
    hosts: dict[str, int]
    first_at: datetime
    last_at: datetime


class Store(abc.ABC):
    """Thread-safe: the poller, the outbox and chat handlers share one instance."""

    # --- mentions -------------------------------------------------------------------------
    @abc.abstractmethod
    def add_mention(self, mention: Mention, *, alert: bool) -> int | None:
        """Store a mention unless it is a duplicate; queue an alert in the same transaction.

        A duplicate is the same (source, external_id), the same canonical URL for the same
        brand, or the same normalised text (`text_key`) for the same brand. Returns the new id,
        or None for a duplicate (nothing written).
        """

    def add_mentions(self, items: Sequence[tuple[Mention, bool]]) -> list[int | None]:
        """`add_mention` for many (mention, alert) pairs in one transaction: a feed page
        costs one commit, not one per entry."""
        return [self.add_mention(mention, alert=alert) for mention, alert in items]

    # --- volume bounds (bot/store/sql_volume.py) ----------------------------------------------
    @abc.abstractmethod
    def add_mentions_within(
        self,
        items: Sequence[tuple[Mention, bool]],
        *,
        brand: str,
        limit: int,
        window: timedelta,
        now: datetime,
    ) -> list[tuple[int | None, bool]]:
        """`add_mentions`, but at most `limit` alerts for `brand` within `window` (0: no
        limit), counted across replicas. Returns (id or None, alert queued) per item; a
        mention over the limit is stored with no alert, and recorded as held back."""

    @abc.abstractmethod
    def hold_back(
        self, mentions: Sequence[Mention], *, reason: str, limit: int, at: datetime
    ) -> list[int | None]:
        """Store mentions with no alert (duplicates skipped, as ever) and record them as held
        back for `reason`; returns their ids (None for a duplicate)."""

    @abc.abstractmethod
    def take_held_back(self, *, now: datetime, settle: timedelta) -> list[HeldBack]:
        """Hand out the held-back records not yet notified, each exactly once whatever the
        number of replicas: those of every brand and channel whose oldest such record is at
        least `settle` old (so a burst is told in one notice, not one per poll)."""

    @abc.abstractmethod
    def release_held_back(self, ids: Iterable[int]) -> None:
        """Give taken records back (their notice could not be delivered)."""

    @abc.abstractmethod
    def known_ids(self, source: str, external_ids: Iterable[str]) -> set[str]:
        """Which of these external ids this source has already given us."""

    @abc.abstractmethod
    def get_mention(self, mention_id: int) -> Mention | None: ...

    @abc.abstractmethod
    def find_mentions(self, query: MentionQuery) -> list[Mention]:
        """Newest first."""

    @abc.abstractmethod
    def transition(
        self,
        mention_id: int,
        *,
        allowed_from: Iterable[Status],
        to: Status,
        actor: str,
        at: datetime,
        owner: str | None = None,
        note: str = "",
        owner_must_be: str | None = None,
    ) -> TransitionResult:
        """Atomically move a mention to `to` if its status is in `allowed_from` (and, when
        `owner_must_be` is given, it is owned by that user); record the transition. `owner`
        sets the owner column when not None ("" clears it)."""

    @abc.abstractmethod
    def history(self, mention_id: int) -> list[Transition]: ...

    @abc.abstractmethod
    def add_reply(self, mention_id: int, *, actor: str, text: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def replies(self, mention_id: int) -> list[tuple[str, str, datetime]]:
        """(actor, text, at) oldest first."""

    @abc.abstractmethod
    def stats(self, since: datetime | None) -> Stats: ...

    # --- outbox ---------------------------------------------------------------------------
    @abc.abstractmethod
    def due_alerts(self, now: datetime, limit: int, *, lease_seconds: float = 120.0) -> list[Alert]:
        """Lease undelivered alerts whose next attempt is due, oldest first. An alert whose
        previous lease ran out mid-delivery comes back with `maybe_posted`."""

    @abc.abstractmethod
    def mark_delivered(self, alert_id: int, *, chat_ts: str, at: datetime) -> None:
        """Record the posted message and move the mention new → alerted."""

    @abc.abstractmethod
    def mark_failed(
        self, alert_id: int, *, error: str, retry_at: datetime, uncertain: bool = False
    ) -> None:
        """Record a failed attempt. `uncertain`: it may have been posted all the same (a
        timeout), so the next attempt looks for it first."""

    @abc.abstractmethod
    def alert_for(self, mention_id: int) -> Alert | None:
        """The alert (channel, ts) of a mention, delivered or not."""

    @abc.abstractmethod
    def release_alerts(self, alert_ids: Iterable[int]) -> None:
        """Give leased alerts back untouched (delivery paused, e.g. rate limited)."""

    @abc.abstractmethod
    def pending_count(self) -> int: ...

    # --- sources --------------------------------------------------------------------------
    @abc.abstractmethod
    def feed_state(self, source: str) -> FeedState: ...

    @abc.abstractmethod
    def save_feed_state(self, source: str, state: FeedState, *, at: datetime) -> None: ...

    @abc.abstractmethod
    def lease_feed(self, source: str, *, holder: str, now: datetime, until: datetime) -> bool:
        """Take the right to poll `source` until `until`, if nobody else holds it now (or the
        holder is us). Replicas sharing one database poll each source one at a time."""

    @abc.abstractmethod
    def release_feed(self, source: str, *, holder: str, next_due: datetime) -> None:
        """Done polling: keep others off `source` until it is due again."""

    # A round polls thousands of feeds: these do the above for many at once, in one
    # transaction each (a commit per feed is most of a poll's cost otherwise).
    @abc.abstractmethod
    def feed_states(self, sources: Sequence[str]) -> dict[str, FeedState]:
        """The state of each of `sources` that has one."""

    @abc.abstractmethod
    def lease_feeds(
        self, sources: Sequence[str], *, holder: str, now: datetime, until: datetime
    ) -> set[str]:
        """`lease_feed` for many sources; returns those we now hold."""

    @abc.abstractmethod
    def renew_feed_leases(
        self, sources: Sequence[str], *, holder: str, until: datetime
    ) -> set[str]:
        """Extend our leases on `sources` (polls still running) to `until`; returns those we
        still held. Leases are short and renewed while a poll runs, so a replica that dies
        mid-poll gives its feeds up within one lease."""

    @abc.abstractmethod
    def lease_expiries(self, sources: Sequence[str]) -> dict[str, datetime]:
        """When the lease on each of `sources` that has one runs out (another replica's
        poll, or the next due time it left): when to ask for the feed again."""

    @abc.abstractmethod
    def finish_polls(self, records: Sequence[PollRecord], *, holder: str) -> None:
        """For each record: save its state (if any), count the poll, give back the lease."""

    @abc.abstractmethod
    def record_poll(
        self, source: str, *, at: datetime, interval: float, items: int = 0, error: str = ""
    ) -> None:
        """Count one poll of `source`: a success when `error` is empty."""

    @abc.abstractmethod
    def source_statuses(self) -> list[SourceStatus]: ...

    @abc.abstractmethod
    def mark_ops_alerted(self, source: str, *, at: datetime) -> None:
        """Remember that the ops channel heard about this failure streak."""

    @abc.abstractmethod
    def alert_delays(self, since: datetime) -> dict[str, list[float]]:
        """Per source, seconds from each mention's publication (or fetch, when the platform
        gives no time) to its alert being posted, for alerts posted since `since`."""

    # --- labels (corrections from chat) ---------------------------------------------------
    @abc.abstractmethod
    def add_label(self, mention_id: int, *, label: str, actor: str, at: datetime) -> None: ...

    @abc.abstractmethod
    def labels(self) -> list[dict[str, object]]:
        """Every recorded label with its mention's text, oldest first."""

    @abc.abstractmethod
    def close(self) -> None: ...

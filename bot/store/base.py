"""The store interface every backend implements. Callers never write SQL."""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.models import (
    Delivery,
    Mention,
    MessageRef,
    Mute,
    MuteKind,
    Notice,
    Platform,
    Reply,
    Route,
    Sentiment,
    Status,
    Transition,
)
from bot.sources.base import FeedState


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """The outcome of a compare-and-set on a mention's status.

    `ok` is False when the mention was not in one of the expected states (someone else got
    there first); `mention` is then the state that won, so the caller can say who holds it.
    """

    ok: bool
    mention: Mention | None
    previous_owner: str = ""  # who held it when the step ran (read under the row lock)


class OwnerRule(enum.Enum):
    """What a transition does to the mention's owner, decided inside its transaction (from
    the row as locked, never from an earlier read)."""

    KEEP = "keep"
    CLEAR = "clear"
    ACTOR = "actor"  # the actor becomes the owner
    ACTOR_IF_FREE = "actor_if_free"  # the actor becomes the owner unless someone holds it


@dataclass(frozen=True, slots=True)
class MentionQuery:
    words: tuple[str, ...] = ()
    source: str = ""
    brand: str = ""
    brands: tuple[str, ...] | None = None  # only these brands (case-insensitive); None: all
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
class RouteHealth:
    """A route that is paused or failing: deliveries to it wait, in order, until it is due."""

    route: Route
    paused_until: datetime | None
    consecutive_failures: int
    last_error: str
    last_error_at: datetime | None


@dataclass(frozen=True, slots=True)
class Dialog:
    """A reply dialog someone opened: its submission may act only on this mention, for this
    person."""

    id: str
    mention_id: int
    delivery_id: int | None
    user: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class TeamsConversation:
    """A Teams conversation the bot may post to, as Teams described it when the bot was
    installed there or first @mentioned: a channel of a team, or one person's chat with the
    bot (`user_key` is theirs)."""

    conversation_id: str  # "19:…@thread.tacv2" (a channel), "a:…" (a personal chat)
    kind: str  # "channel" | "personal" | "groupChat"
    service_url: str
    tenant_id: str = ""
    team_id: str = ""
    team_name: str = ""
    channel_name: str = ""
    user_key: str = ""
    removed_at: datetime | None = None  # the bot was removed from the team or chat

    @property
    def label(self) -> str:
        """How a person names it: "Team/Channel" for a channel."""
        if self.kind == "channel":
            return f"{self.team_name or self.team_id}/{self.channel_name or 'General'}"
        return self.conversation_id


@dataclass(frozen=True, slots=True)
class TeamsUser:
    """A Teams user as the bot can address them: their Teams id ("29:…")."""

    user_key: str
    teams_id: str
    tenant_id: str = ""
    service_url: str = ""


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
class NoticeDraft:
    """A notice to queue together with a `Store.once` step."""

    route: Route
    text: str
    thread_of: int | None = None  # under this delivery's message
    ping: tuple[str, ...] = ()
    under_new_delivery: bool = False  # under the delivery the same step adds


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    """One mention with the first moments of its workflow, for response-time figures."""

    mention_id: int
    brand: str
    source: str
    sentiment: str
    flagged: bool
    status: Status
    owner: str
    fetched_at: datetime
    question: bool
    praise: bool
    attention: float
    title: str
    url: str
    muted: bool
    alerted_at: datetime | None
    claimed_at: datetime | None
    replied_at: datetime | None
    resolved_at: datetime | None
    claimed_by: str = ""
    replied_by: str = ""
    resolved_by: str = ""


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
        """Store a mention unless it is a duplicate; with `alert`, queue one delivery per
        route in `mention.routes` in the same transaction.

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
        hold: str = "",
    ) -> list[tuple[int | None, bool]]:
        """`add_mentions`, but at most `limit` alerts for `brand` within `window` (0: no
        limit), counted across replicas. Returns (id or None, alert queued) per item; a
        mention over the limit is stored with no alert, and recorded as held back.
        `hold` (a reason, e.g. "spike"): store every flagged one without its alert and
        record it as held back for that reason."""

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
        owner: OwnerRule = OwnerRule.KEEP,
        note: str = "",
        owner_must_be: str | None = None,
        reply: Reply | None = None,
    ) -> TransitionResult:
        """In one transaction, with the mention's row locked: move it to `to` if its status
        is in `allowed_from` (and, when `owner_must_be` is given, it is held by that user or
        by nobody), apply `owner`, record the transition from the status it really had, and
        store `reply` with it. Refused: nothing is written and `mention` is the state that
        won."""

    @abc.abstractmethod
    def history(self, mention_id: int) -> list[Transition]: ...

    @abc.abstractmethod
    def replies(self, mention_id: int) -> list[Reply]:
        """Oldest first."""

    @abc.abstractmethod
    def get_reply(self, reply_id: int) -> tuple[int, Reply] | None:
        """(mention id, reply) of a stored reply."""

    @abc.abstractmethod
    def mark_reply_deleted(
        self,
        reply_id: int,
        *,
        actor: str,
        at: datetime,
        note: str,
        reopen_to: Status,
        reopen_from: Status,
    ) -> bool:
        """Record that a public reply was deleted (by `actor`, at `at`), with a transition
        carrying `note`, in one transaction with the mention's row locked; the mention moves
        from `reopen_from` to `reopen_to` when no reply is left standing. False (and nothing
        written) when it was already recorded as deleted."""

    @abc.abstractmethod
    def stats(self, since: datetime | None, *, brands: Sequence[str] | None = None) -> Stats: ...

    # --- deliveries (the outbox) ----------------------------------------------------------
    @abc.abstractmethod
    def due_deliveries(
        self,
        now: datetime,
        limit: int,
        *,
        platforms: Iterable[str] = tuple(Platform),
        lease_seconds: float = 120.0,
    ) -> list[Delivery]:
        """Lease undelivered deliveries to these platforms whose attempt is due, on routes
        that are not paused, oldest mention first. One whose previous lease ran out
        mid-delivery comes back with `maybe_posted`."""

    @abc.abstractmethod
    def mark_delivered(self, delivery_id: int, *, message: MessageRef, at: datetime) -> None:
        """Record the message the platform returned, clear the route's pause, and move the
        mention new → alerted."""

    @abc.abstractmethod
    def mark_failed(
        self, delivery_id: int, *, error: str, retry_at: datetime, uncertain: bool = False
    ) -> None:
        """Record a failed attempt. `uncertain`: it may have been posted all the same (a
        timeout), so the next attempt looks for it first."""

    @abc.abstractmethod
    def pause_route(self, route: Route, *, until: datetime, error: str, at: datetime) -> None:
        """Hold every delivery and notice to `route` until `until` (an outage, a rate limit),
        so that they go out in order once it answers again."""

    @abc.abstractmethod
    def route_health(self) -> list[RouteHealth]:
        """Routes that failed at least once since they last worked."""

    @abc.abstractmethod
    def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    @abc.abstractmethod
    def deliveries(self, mention_id: int) -> list[Delivery]:
        """Every delivery of a mention (posted or not), in route order."""

    @abc.abstractmethod
    def delivery_of_message(self, message: MessageRef) -> Delivery | None:
        """The delivery that posted this message. A delivery migrated from before message
        references were kept has no channel id yet: it is found by its message id alone."""

    @abc.abstractmethod
    def set_delivery_channel(self, delivery_id: int, channel_id: str) -> None:
        """Fill in the channel id of a delivery that had only a channel name."""

    @abc.abstractmethod
    def release_deliveries(self, delivery_ids: Iterable[int]) -> None:
        """Give leased deliveries back untouched (delivery paused, e.g. rate limited)."""

    @abc.abstractmethod
    def pending_count(self) -> int:
        """Deliveries not yet posted."""

    # --- notices ----------------------------------------------------------------------------
    @abc.abstractmethod
    def add_notice(
        self,
        route: Route,
        text: str,
        *,
        at: datetime,
        thread_of: int | None = None,
        ping: Sequence[str] = (),
        for_mention: int | None = None,
        while_status: Sequence[Status] = (),
    ) -> int:
        """Queue a plain message. `ping`: people or groups to mention first; `for_mention` and
        `while_status`: a reminder the outbox drops if that mention moved on meanwhile."""

    @abc.abstractmethod
    def due_notices(
        self,
        now: datetime,
        limit: int,
        *,
        platforms: Iterable[str] = tuple(Platform),
        lease_seconds: float = 120.0,
    ) -> list[Notice]:
        """Lease due notices on routes that are not paused, oldest first."""

    @abc.abstractmethod
    def mark_notice_sent(self, notice_id: int, *, at: datetime) -> None: ...

    @abc.abstractmethod
    def mark_notice_failed(self, notice_id: int, *, error: str, retry_at: datetime) -> None: ...

    # --- people and dialogs -----------------------------------------------------------------
    @abc.abstractmethod
    def remember_names(self, names: dict[str, str], *, at: datetime) -> None:
        """The display name of each user key, as their platform last gave it."""

    @abc.abstractmethod
    def names(self, user_keys: Iterable[str]) -> dict[str, str]: ...

    @abc.abstractmethod
    def open_dialog(self, dialog: Dialog) -> None: ...

    @abc.abstractmethod
    def dialog(self, dialog_id: str) -> Dialog | None: ...

    @abc.abstractmethod
    def close_dialog(self, dialog_id: str) -> None: ...

    # --- Teams conversation references ------------------------------------------------------
    @abc.abstractmethod
    def remember_teams_conversation(self, conversation: TeamsConversation, *, at: datetime) -> None:
        """Keep (or refresh) a conversation the bot learnt; a refresh clears `removed_at`.
        Names that are empty in `conversation` keep their stored value."""

    @abc.abstractmethod
    def teams_conversations(self) -> list[TeamsConversation]:
        """Every learnt conversation, channels first, by team and channel name."""

    @abc.abstractmethod
    def teams_conversation(self, conversation_id: str) -> TeamsConversation | None: ...

    @abc.abstractmethod
    def forget_teams_team(self, team_id: str, *, at: datetime) -> None:
        """The bot was removed from a team (or chat): mark its conversations removed."""

    @abc.abstractmethod
    def remember_teams_user(self, user: TeamsUser, *, at: datetime) -> None: ...

    @abc.abstractmethod
    def teams_users(self, user_keys: Iterable[str]) -> dict[str, TeamsUser]: ...
    @abc.abstractmethod
    def take_dialog(self, dialog_id: str) -> Dialog | None:
        """Close a dialog and return it, atomically: of two submissions of one dialog (a double
        click, two replicas) only one gets it. `open_dialog` gives it back."""

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

    # --- team workflow (bot/team) ------------------------------------------------------------
    @abc.abstractmethod
    def once(
        self,
        key: str,
        *,
        at: datetime,
        mention_id: int | None = None,
        while_status: Sequence[Status] = (),
        owner: str | None = None,
        notices: Sequence[NoticeDraft] = (),
        deliver_to: Route | None = None,
    ) -> bool:
        """Do something at most once, across restarts and replicas: in one transaction,
        claim `key` (False if anyone ever did), and then queue `notices` and a delivery of
        the mention to `deliver_to`. With `mention_id`, only while the mention's status is in
        `while_status` (and it is held by `owner`, when given), checked with its row locked;
        the notices carry the same condition, so the outbox drops them if it changes."""

    @abc.abstractmethod
    def done_once(self, key: str) -> bool: ...

    @abc.abstractmethod
    def add_mute(
        self,
        brand: str,
        kind: MuteKind,
        value: str,
        *,
        actor: str,
        at: datetime,
        until: datetime | None,
    ) -> Mute: ...

    @abc.abstractmethod
    def active_mutes(self, now: datetime, *, brands: Sequence[str] | None = None) -> list[Mute]:
        """Mutes in force at `now` (for these brands), oldest first."""

    @abc.abstractmethod
    def lift_mute(self, mute_id: int, *, at: datetime) -> Mute | None:
        """End a mute now; the mute as it was, or None if there is no such active mute."""

    @abc.abstractmethod
    def add_delivery(self, mention_id: int, route: Route, *, at: datetime) -> int | None:
        """Queue the mention's alert on one more route (once); its delivery id."""

    @abc.abstractmethod
    def record_reach(self, mention_id: int, value: int, *, at: datetime) -> None: ...

    @abc.abstractmethod
    def reach_history(self, mention_id: int) -> list[tuple[datetime, int]]:
        """The mention's reach samples, oldest first."""

    @abc.abstractmethod
    def fetch_times(self, brand: str, sentiment: Sentiment, since: datetime) -> list[datetime]:
        """When each of the brand's mentions of this sentiment since `since` was fetched,
        oldest first (spike baselines read weeks of these)."""

    @abc.abstractmethod
    def first_seen(self, brand: str) -> datetime | None:
        """When the brand's first mention was fetched."""

    @abc.abstractmethod
    def open_alerts(self, limit: int = 2000) -> list[Mention]:
        """Alerted mentions nobody has closed (alerted, claimed, replied), oldest first."""

    @abc.abstractmethod
    def workflow_rows(
        self, since: datetime, until: datetime, *, brands: Sequence[str] | None = None
    ) -> list[WorkflowRow]:
        """Every mention fetched in [since, until) with its first workflow moments."""

    # --- labels (corrections from chat) ---------------------------------------------------
    @abc.abstractmethod
    def add_label(self, mention_id: int, *, label: str, actor: str, at: datetime) -> None:
        """Record a correction (and bump the mention's revision: its alert shows labels)."""

    @abc.abstractmethod
    def labels(self) -> list[dict[str, object]]:
        """Every recorded label with its mention's text, oldest first."""

    @abc.abstractmethod
    def close(self) -> None: ...

"""Outbox delivery: each alert posted once per route, failures kept queued and retried in
order, 429 obeyed, notices queued like alerts.

The adapter here is a scripted stand-in for a chat platform (the boundary), so every failure
mode can be produced on demand; the real Slack adapter is exercised end to end elsewhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from bot.chat.port import Capabilities, DeliveryError, Limits
from bot.chat.views import AlertView, Line
from bot.models import Mention, MessageRef, Route, Status
from bot.outbox import Outbox
from bot.store import Store
from tests.conftest import Clock

ALERTS = Route("slack", "#alerts")
OTHER = Route("slack", "#other")


class ScriptedAdapter:
    platform = "slack"
    limits = Limits(text_chars=3000, message_elements=50, fallback_chars=4000, posts_per_second=1)

    def __init__(
        self, failures: list[DeliveryError | Exception] | None = None, *, finds: bool = False
    ) -> None:
        self.failures = list(failures or [])
        self.posted: list[tuple[int, Route]] = []
        self.notes: list[tuple[Route, str, MessageRef | None]] = []
        self.asked: list[int] = []
        self.capabilities = Capabilities(
            finds_posted=finds, answers_privately=True, updates_in_place=True, threads=True
        )

    def post_alert(self, route: Route, view: AlertView) -> MessageRef:
        if self.failures:
            raise self.failures.pop(0)
        self.posted.append((view.mention_id, route))
        return MessageRef(
            "slack", "C" + route.channel.strip("#").upper(), self._ts(len(self.posted))
        )

    def find_alert(self, route: Route, mention_id: int, since: datetime) -> MessageRef | None:
        self.asked.append(mention_id)
        for index, (posted_id, posted_route) in enumerate(self.posted, start=1):
            if posted_id == mention_id and posted_route == route:
                return MessageRef("slack", "C" + route.channel.strip("#").upper(), self._ts(index))
        return None

    def update_alert(self, message: MessageRef, view: AlertView) -> None:
        raise AssertionError("the outbox never redraws")

    def post_note(self, route: Route, lines: tuple[Line, ...], thread: MessageRef | None) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.notes.append((route, "".join(str(p) for p in lines[0]), thread))

    def channel_id(self, route: Route) -> str:
        return "C" + route.channel.strip("#").upper()

    @staticmethod
    def _ts(n: int) -> str:
        return f"17000000{n:02d}.000100"


def _outbox(store: Store, adapter: ScriptedAdapter, clock: Clock) -> Outbox:
    return Outbox(store, {"slack": adapter}, clock, batch=10, max_backoff=600,
                  rng=random.Random(7))  # fmt: skip


def test_each_alert_is_posted_once_and_marked_alerted(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    ids = [store.add_mention(make_mention(), alert=True) for _ in range(3)]
    adapter = ScriptedAdapter()
    outbox = _outbox(store, adapter, clock)
    assert outbox.deliver_due().delivered == 3
    assert outbox.deliver_due().delivered == 0
    assert sorted(m for m, _ in adapter.posted) == ids
    for mention_id in ids:
        mention = store.get_mention(mention_id)  # type: ignore[arg-type]
        assert mention is not None and mention.status == Status.ALERTED


def test_a_mention_with_two_routes_is_one_mention_with_two_deliveries(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(routes=(ALERTS, OTHER)), alert=True)
    assert mention_id is not None
    adapter = ScriptedAdapter()
    assert _outbox(store, adapter, clock).deliver_due().delivered == 2
    assert sorted(r.channel for _, r in adapter.posted) == ["#alerts", "#other"]
    deliveries = store.deliveries(mention_id)
    # What is kept is what the platform returned (the channel id), never the configured name.
    assert {d.message.channel_id for d in deliveries if d.message} == {"CALERTS", "COTHER"}


def test_alerts_are_delivered_oldest_first(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    # A feed lists its newest entry first; the channel should read them in the order said.
    published = [clock() - timedelta(minutes=m) for m in (1, 30, 10)]
    ids = [store.add_mention(make_mention(published_at=at), alert=True) for at in published]
    adapter = ScriptedAdapter()
    _outbox(store, adapter, clock).deliver_due()
    assert [m for m, _ in adapter.posted] == [ids[1], ids[2], ids[0]]


def test_after_an_outage_the_queue_goes_out_in_order(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    ids = []
    for _ in range(6):
        ids.append(store.add_mention(make_mention(), alert=True))
        clock.advance(60)
    outage = [DeliveryError("HTTP 503", permanent=False) for _ in range(4)]
    adapter = ScriptedAdapter(outage)
    outbox = _outbox(store, adapter, clock)
    for _ in range(4):  # each retry fails: the whole route waits, nothing jumps the queue
        report = outbox.deliver_due()
        assert report.delivered == 0 and report.failed == 1
        clock.advance(600)
    while outbox.deliver_due().delivered:
        pass
    assert [m for m, _ in adapter.posted] == ids


def test_transient_failure_stays_queued_and_is_retried_with_backoff(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter([DeliveryError("HTTP 500", permanent=False)])
    outbox = _outbox(store, adapter, clock)
    report = outbox.deliver_due()
    assert (report.delivered, report.failed) == (0, 1)
    assert store.pending_count() == 1
    assert outbox.deliver_due().delivered == 0  # backing off
    clock.advance(5)  # first backoff is between 2.5 and 5 seconds
    assert outbox.deliver_due().delivered == 1
    assert adapter.posted == [(mention_id, ALERTS)]


def test_rate_limit_pauses_the_route_for_retry_after_and_loses_nothing(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    for _ in range(4):
        store.add_mention(make_mention(), alert=True)
    other = store.add_mention(make_mention(routes=(OTHER,)), alert=True)
    adapter = ScriptedAdapter([DeliveryError("ratelimited", permanent=False, retry_after=30)])
    outbox = _outbox(store, adapter, clock)
    report = outbox.deliver_due()
    assert report.paused_for == 30
    # The limited route waits as told; another route goes on.
    assert [m for m, _ in adapter.posted] == [other]
    assert outbox.deliver_due().delivered == 0
    clock.advance(30)
    assert outbox.deliver_due().delivered == 4
    assert len({m for m, _ in adapter.posted}) == 5
    assert store.route_health() == []  # it answered again: the pause is gone


def test_a_message_error_does_not_hold_up_the_route(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    first = store.add_mention(make_mention(), alert=True)
    second = store.add_mention(make_mention(), alert=True)
    bad = DeliveryError("invalid_blocks", permanent=True, route_wide=False)
    adapter = ScriptedAdapter([bad])
    assert _outbox(store, adapter, clock).deliver_due().delivered == 1
    assert [m for m, _ in adapter.posted] == [second]
    assert store.pending_count() == 1 and first is not None


def test_permanent_failure_is_kept_and_retried_slowly(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter([DeliveryError("channel_not_found", permanent=True)])
    outbox = _outbox(store, adapter, clock)
    outbox.deliver_due()
    [health] = store.route_health()
    assert health.route == ALERTS and "channel_not_found" in health.last_error
    clock.advance(599)
    assert outbox.deliver_due().delivered == 0
    clock.advance(1)
    assert outbox.deliver_due().delivered == 1
    assert store.route_health() == []  # working again: no longer listed


def test_a_crashing_adapter_does_not_lose_the_alert(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    outbox = _outbox(store, ScriptedAdapter([RuntimeError("bug")]), clock)
    assert outbox.deliver_due().failed == 1
    assert store.pending_count() == 1


def test_deliveries_to_a_platform_without_an_adapter_wait(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(routes=(Route("teams", "Support"),)), alert=True)
    assert _outbox(store, ScriptedAdapter(), clock).deliver_due().delivered == 0
    assert store.pending_count() == 1


@pytest.mark.parametrize("attempts", [0, 3, 20])
def test_backoff_grows_and_is_capped(sqlite_store: Store, clock: Clock, attempts: int) -> None:
    outbox = _outbox(sqlite_store, ScriptedAdapter(), clock)
    delay = outbox._delay(attempts, DeliveryError("x", permanent=False))
    assert 1.0 <= delay <= min(600, 5 * 2**attempts)


def test_alert_interrupted_after_posting_is_found_not_posted_again(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter(finds=True)
    [delivery] = store.due_deliveries(clock(), 10)
    # The process posts, then dies before recording it: the lease is all that is left.
    adapter.posted.append((mention_id, delivery.route))  # type: ignore[arg-type]
    clock.advance(121)
    report = _outbox(store, adapter, clock).deliver_due()
    assert (report.delivered, report.recovered) == (1, 1)
    assert len(adapter.posted) == 1 and adapter.asked == [mention_id]
    [delivered] = store.deliveries(mention_id)  # type: ignore[arg-type]
    assert delivered.message == MessageRef("slack", "CALERTS", "1700000001.000100")


def test_alert_interrupted_before_posting_is_posted_once(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter(finds=True)
    store.due_deliveries(clock(), 10)  # leased, then the process died before posting
    clock.advance(121)
    report = _outbox(store, adapter, clock).deliver_due()
    assert (report.delivered, report.recovered) == (1, 0)
    assert adapter.posted == [(mention_id, ALERTS)]


def test_an_adapter_that_cannot_find_its_messages_posts_again(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter(finds=False)
    store.due_deliveries(clock(), 10)
    clock.advance(121)
    _outbox(store, adapter, clock).deliver_due()
    assert adapter.asked == [] and len(adapter.posted) == 1  # at least once


def test_first_attempts_do_not_ask_the_platform(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    adapter = ScriptedAdapter(finds=True)
    _outbox(store, adapter, clock).deliver_due()
    assert adapter.asked == [] and len(adapter.posted) == 1


def test_notices_are_queued_and_sent_and_a_thread_note_waits_for_its_alert(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    assert mention_id is not None
    [delivery] = store.deliveries(mention_id)
    store.add_notice(Route("slack", "#ops"), "Source x is failing", at=clock())
    store.add_notice(ALERTS, "note for the owner", at=clock(), thread_of=delivery.id)
    adapter = ScriptedAdapter([DeliveryError("msg_too_long", permanent=False, route_wide=False)])
    report = _outbox(store, adapter, clock).deliver_due()
    assert report.delivered == 0 and report.notices == 1  # the note waits: alert not yet posted
    clock.advance(10)
    report = _outbox(store, adapter, clock).deliver_due()
    assert report.delivered == 1 and report.notices == 1
    assert [(r.channel, text) for r, text, _ in adapter.notes] == [
        ("#ops", "Source x is failing"),
        ("#alerts", "note for the owner"),
    ]
    assert adapter.notes[1][2] == MessageRef("slack", "CALERTS", "1700000001.000100")


def test_delivery_is_counted_and_its_delay_observed(
    sqlite_store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = sample("mentionbot_alerts_delivered_total")
    delays_before = sample("mentionbot_alert_delay_seconds_count", source="metered")
    sqlite_store.add_mention(make_mention(source="metered"), alert=True)
    _outbox(sqlite_store, ScriptedAdapter(), clock).deliver_due()
    assert sample("mentionbot_alerts_delivered_total") == before + 1
    assert sample("mentionbot_alert_delay_seconds_count", source="metered") == delays_before + 1
    # published five minutes before delivery: lands in the 300 s bucket, not the 120 s one
    assert sample("mentionbot_alert_delay_seconds_bucket", source="metered", le="300.0") == 1
    assert sample("mentionbot_alert_delay_seconds_bucket", source="metered", le="120.0") == 0

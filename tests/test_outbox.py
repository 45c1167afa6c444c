"""Outbox delivery: each alert posted once, failures kept queued and retried, 429 obeyed.

The notifier here is a scripted stand-in for a chat service (the boundary), so every failure
mode can be produced on demand; the real Slack notifier is exercised end to end elsewhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from bot.chat.notifier import DeliveryError
from bot.models import Mention, Status
from bot.outbox import Outbox
from bot.store import Store
from tests.conftest import Clock


class ScriptedNotifier:
    def __init__(self, failures: list[DeliveryError | Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.posted: list[tuple[int, str]] = []

    def post_alert(self, mention: Mention, channel: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        assert mention.id is not None
        self.posted.append((mention.id, channel))
        return f"17000000{len(self.posted):02d}.000100"


def _outbox(store: Store, notifier: ScriptedNotifier, clock: Clock) -> Outbox:
    return Outbox(store, notifier, clock, batch=10, max_backoff=600, rng=random.Random(7))


def test_each_alert_is_posted_once_and_marked_alerted(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    ids = [store.add_mention(make_mention(), alert=True) for _ in range(3)]
    notifier = ScriptedNotifier()
    outbox = _outbox(store, notifier, clock)
    assert outbox.deliver_due().delivered == 3
    assert outbox.deliver_due().delivered == 0
    assert [m for m, _ in notifier.posted] == ids
    for mention_id in ids:
        mention = store.get_mention(mention_id)  # type: ignore[arg-type]
        assert mention is not None and mention.status == Status.ALERTED


def test_transient_failure_stays_queued_and_is_retried_with_backoff(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    notifier = ScriptedNotifier([DeliveryError("HTTP 500", permanent=False)])
    outbox = _outbox(store, notifier, clock)
    report = outbox.deliver_due()
    assert (report.delivered, report.failed) == (0, 1)
    assert store.pending_count() == 1
    assert outbox.deliver_due().delivered == 0  # backing off
    clock.advance(5)  # first backoff is between 2.5 and 5 seconds
    assert outbox.deliver_due().delivered == 1
    assert notifier.posted == [(mention_id, "C0ALERTS")]


def test_rate_limit_pauses_the_batch_for_retry_after_and_loses_nothing(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    for _ in range(4):
        store.add_mention(make_mention(), alert=True)
    notifier = ScriptedNotifier([DeliveryError("ratelimited", permanent=False, retry_after=30)])
    outbox = _outbox(store, notifier, clock)
    report = outbox.deliver_due()
    assert report.paused_for == 30 and report.delivered == 0
    # The rest of the batch was handed back at once; the limited one waits 30 s.
    assert outbox.deliver_due().delivered == 3
    assert outbox.deliver_due().delivered == 0
    clock.advance(30)
    assert outbox.deliver_due().delivered == 1
    assert len({m for m, _ in notifier.posted}) == 4


def test_permanent_failure_is_kept_and_retried_slowly(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    notifier = ScriptedNotifier([DeliveryError("channel_not_found", permanent=True)])
    outbox = _outbox(store, notifier, clock)
    outbox.deliver_due()
    clock.advance(599)
    assert outbox.deliver_due().delivered == 0
    clock.advance(1)
    assert outbox.deliver_due().delivered == 1


def test_a_crashing_notifier_does_not_lose_the_alert(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    outbox = _outbox(store, ScriptedNotifier([RuntimeError("bug")]), clock)
    assert outbox.deliver_due().failed == 1
    assert store.pending_count() == 1


@pytest.mark.parametrize("attempts", [0, 3, 20])
def test_backoff_grows_and_is_capped(sqlite_store: Store, clock: Clock, attempts: int) -> None:
    outbox = _outbox(sqlite_store, ScriptedNotifier(), clock)
    delay = outbox._delay(attempts, DeliveryError("x", permanent=False))
    assert 1.0 <= delay <= min(600, 5 * 2**attempts)


class FindingNotifier(ScriptedNotifier):
    """A chat service that can be asked whether a message for a mention is already there."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def find_posted(self, mention: Mention, channel: str) -> str | None:
        self.asked.append(mention.id or 0)
        for index, (mention_id, _) in enumerate(self.posted, start=1):
            if mention_id == mention.id:
                return f"17000000{index:02d}.000100"
        return None


def test_alert_interrupted_after_posting_is_found_not_posted_again(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    notifier = FindingNotifier()
    [alert] = store.due_alerts(clock(), 10)
    # The process posts, then dies before recording it: the lease is all that is left.
    notifier.post_alert(store.get_mention(mention_id), alert.channel)  # type: ignore[arg-type]
    clock.advance(121)
    report = _outbox(store, notifier, clock).deliver_due()
    assert (report.delivered, report.recovered) == (1, 1)
    assert len(notifier.posted) == 1 and notifier.asked == [mention_id]
    delivered = store.alert_for(mention_id)  # type: ignore[arg-type]
    assert delivered is not None and delivered.chat_ts == "1700000001.000100"


def test_alert_interrupted_before_posting_is_posted_once(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    notifier = FindingNotifier()
    store.due_alerts(clock(), 10)  # leased, then the process died before posting
    clock.advance(121)
    report = _outbox(store, notifier, clock).deliver_due()
    assert (report.delivered, report.recovered) == (1, 0)
    assert notifier.posted == [(mention_id, "C0ALERTS")]


def test_first_attempts_do_not_ask_the_chat_service(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    notifier = FindingNotifier()
    _outbox(store, notifier, clock).deliver_due()
    assert notifier.asked == [] and len(notifier.posted) == 1


def test_delivery_is_counted_and_its_delay_observed(
    sqlite_store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = sample("mentionbot_alerts_delivered_total")
    delays_before = sample("mentionbot_alert_delay_seconds_count", source="metered")
    sqlite_store.add_mention(make_mention(source="metered"), alert=True)
    _outbox(sqlite_store, ScriptedNotifier(), clock).deliver_due()
    assert sample("mentionbot_alerts_delivered_total") == before + 1
    assert sample("mentionbot_alert_delay_seconds_count", source="metered") == delays_before + 1
    # published five minutes before delivery: lands in the 300 s bucket, not the 120 s one
    assert sample("mentionbot_alert_delay_seconds_bucket", source="metered", le="300.0") == 1
    assert sample("mentionbot_alert_delay_seconds_bucket", source="metered", le="120.0") == 0

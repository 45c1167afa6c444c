"""The store contract, run against SQLite and (where it runs) PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot import workflow
from bot.models import Mention, MessageRef, Sentiment, Status
from bot.sources.base import FeedState
from bot.store import MentionQuery, Store, open_store
from bot.store.schema import SCHEMA_VERSION
from tests.conftest import Clock


def test_add_mention_assigns_id_and_round_trips_every_field(
    store: Store, make_mention: Callable[..., Mention]
) -> None:
    mention = make_mention(title="Ünïcode ✓ title", author="Zoë")
    mention_id = store.add_mention(mention, alert=True)
    assert mention_id is not None
    back = store.get_mention(mention_id)
    assert back is not None
    assert back.id == mention_id
    for name in ("brand", "source", "external_id", "url", "title", "text", "author", "routes"):
        assert getattr(back, name) == getattr(mention, name), name
    assert back.published_at == mention.published_at
    assert back.verdict.sentiment == Sentiment.NEGATIVE
    assert back.verdict.attention == pytest.approx(0.6)
    assert back.status == Status.NEW


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("external_id", "same-id"),
        ("canonical_url", "https://example.com/story"),
        ("text_key", "k" * 32),
    ],
)
def test_duplicate_by_each_key_is_stored_once_and_queues_no_second_alert(
    store: Store, make_mention: Callable[..., Mention], field: str, value: str
) -> None:
    first = store.add_mention(make_mention(**{field: value}), alert=True)
    second = store.add_mention(make_mention(**{field: value}), alert=True)
    assert first is not None
    assert second is None
    assert store.pending_count() == 1


def test_same_url_for_two_brands_is_two_mentions(
    store: Store, make_mention: Callable[..., Mention]
) -> None:
    url = "https://example.com/shared"
    assert store.add_mention(make_mention(canonical_url=url, brand="Acme"), alert=False)
    assert store.add_mention(make_mention(canonical_url=url, brand="Globex"), alert=False)


def test_dedup_survives_reopening_the_database(
    database_url: str, make_mention: Callable[..., Mention]
) -> None:
    first = open_store(database_url)
    assert first.add_mention(make_mention(external_id="x1"), alert=True) is not None
    first.close()
    again = open_store(database_url)
    try:
        assert again.add_mention(make_mention(external_id="x1"), alert=True) is None
        assert again.known_ids("test-feed", ["x1", "x2"]) == {"x1"}
    finally:
        again.close()


def test_migrations_are_idempotent_and_versioned(store: Store) -> None:
    assert store.migrate() == SCHEMA_VERSION  # type: ignore[attr-defined]
    assert store.migrate() == SCHEMA_VERSION  # type: ignore[attr-defined]


def test_outbox_leases_an_alert_to_one_caller_and_retries_after_failure(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(), alert=True)
    [alert] = store.due_deliveries(clock(), 10)
    assert alert.mention_id == mention_id
    assert store.due_deliveries(clock(), 10) == []  # leased: nobody else gets it
    store.mark_failed(alert.id, error="boom", retry_at=clock() + timedelta(seconds=30))
    assert store.due_deliveries(clock(), 10) == []  # not due yet
    [again] = store.due_deliveries(clock.advance(31), 10)
    assert again.attempts == 1
    assert again.last_error == "boom"
    store.mark_delivered(
        again.id, message=MessageRef("slack", "C0ALERTS", "1700000000.000100"), at=clock()
    )
    assert store.due_deliveries(clock.advance(3600), 10) == []
    assert store.pending_count() == 0
    stored = store.get_mention(mention_id)  # type: ignore[arg-type]
    assert stored is not None and stored.status == Status.ALERTED
    [delivered] = store.deliveries(mention_id)  # type: ignore[arg-type]
    assert delivered.message == MessageRef("slack", "C0ALERTS", "1700000000.000100")


def test_expired_lease_is_taken_over(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    assert len(store.due_deliveries(clock(), 10)) == 1
    # The replica holding it died; after the lease expires another one delivers it.
    assert len(store.due_deliveries(clock.advance(121), 10)) == 1


def test_released_alerts_are_due_again_without_an_attempt(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    store.add_mention(make_mention(), alert=True)
    [alert] = store.due_deliveries(clock(), 10)
    store.release_deliveries([alert.id])
    [again] = store.due_deliveries(clock(), 10)
    assert again.attempts == 0


def test_concurrent_claims_from_separate_connections_have_exactly_one_winner(
    database_url: str, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    setup = open_store(database_url)
    mention_id = setup.add_mention(make_mention(), alert=True)
    assert mention_id is not None
    users = [f"U{n}" for n in range(8)]
    stores = [open_store(database_url) for _ in users]
    barrier = threading.Barrier(len(users))
    outcomes: dict[str, workflow.Outcome] = {}

    def click(user: str, s: Store) -> None:
        barrier.wait()
        outcomes[user] = workflow.claim(s, mention_id, user, clock())

    threads = [
        threading.Thread(target=click, args=(u, s)) for u, s in zip(users, stores, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    winners = [u for u, o in outcomes.items() if o.ok]
    assert len(outcomes) == len(users)
    assert len(winners) == 1
    owner = winners[0]
    for user, outcome in outcomes.items():
        if user != owner:
            assert outcome.refusal == workflow.Refusal.HELD_BY_OTHER
            assert outcome.holder == owner
    final = setup.get_mention(mention_id)
    assert final is not None and final.owner == owner and final.status == Status.CLAIMED
    assert [t.to_status for t in setup.history(mention_id)] == [Status.CLAIMED]
    for s in [setup, *stores]:
        s.close()


@pytest.mark.parametrize("second", [workflow.Action.REPLY, workflow.Action.RESOLVE])
def test_a_claim_racing_a_reply_or_resolve_is_never_overwritten(
    database_url: str,
    make_mention: Callable[..., Mention],
    clock: Clock,
    second: workflow.Action,
) -> None:
    """Two replicas (two connections) click at once, many times over. Whatever the order,
    the history is one unbroken chain, the owner is whoever acted first, and a reply's text
    is stored exactly when its status change is."""
    setup = open_store(database_url)
    replicas = [open_store(database_url), open_store(database_url)]
    try:
        ids = []
        for _ in range(12):
            mention_id = setup.add_mention(make_mention(), alert=True)
            assert mention_id is not None
            ids.append(mention_id)
        for mention_id in ids:
            barrier = threading.Barrier(2)

            def claim(mention_id: int = mention_id, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                workflow.claim(replicas[0], mention_id, "slack:UCLAIM", clock())

            def other(mention_id: int = mention_id, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                workflow.act(replicas[1], second, mention_id, "slack:UOTHER", clock(),
                             reply_text="on it")  # fmt: skip

            threads = [threading.Thread(target=claim), threading.Thread(target=other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            history = setup.history(mention_id)
            assert history, "at least one click must win"
            status = Status.NEW
            for step in history:
                assert step.from_status == status, "each step starts where the last ended"
                status = step.to_status
            final = setup.get_mention(mention_id)
            assert final is not None and final.status == status
            assert final.owner == history[0].actor
            replied = [t for t in history if t.to_status == Status.REPLIED]
            assert len(setup.replies(mention_id)) == len(replied)
    finally:
        for s in [setup, *replicas]:
            s.close()


def test_find_mentions_filters_by_words_source_sentiment_status_owner_and_since(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    old = store.add_mention(
        make_mention(text="refund please", fetched_at=clock() - timedelta(days=10)), alert=True
    )
    new = store.add_mention(make_mention(text="Refund NOW", source="reddit"), alert=True)
    happy = store.add_mention(
        make_mention(text="love it", verdict=make_verdict_positive()), alert=False
    )
    assert {m.id for m in store.find_mentions(MentionQuery(words=("refund",)))} == {old, new}
    assert [
        m.id for m in store.find_mentions(MentionQuery(words=("refund",), source="reddit"))
    ] == [new]
    recent = MentionQuery(since=clock() - timedelta(days=7))
    assert {m.id for m in store.find_mentions(recent)} == {new, happy}
    negative = MentionQuery(sentiment=Sentiment.NEGATIVE, flagged_only=True)
    assert {m.id for m in store.find_mentions(negative)} == {old, new}
    workflow.claim(store, new, "U1", clock())  # type: ignore[arg-type]
    assert [m.id for m in store.find_mentions(MentionQuery(owner="U1"))] == [new]
    opened = MentionQuery(statuses=workflow.OPEN, flagged_only=True)
    assert [m.id for m in store.find_mentions(opened)] == [old]
    assert store.find_mentions(MentionQuery(words=("zzz_nothing",))) == []


def make_verdict_positive():  # type: ignore[no-untyped-def]
    from tests.conftest import make_verdict

    return make_verdict(Sentiment.POSITIVE, attention=0.0)


def test_stats_count_and_median_times(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    ids = [store.add_mention(make_mention(), alert=True) for _ in range(3)]
    for alert in store.due_deliveries(clock(), 10):
        store.mark_delivered(alert.id, message=MessageRef("slack", "C0ALERTS", "1.1"), at=clock())
    start = clock()
    workflow.claim(store, ids[0], "U1", start + timedelta(seconds=60))  # type: ignore[arg-type]
    workflow.claim(store, ids[1], "U1", start + timedelta(seconds=180))  # type: ignore[arg-type]
    workflow.resolve(store, ids[0], "U1", start + timedelta(seconds=600))  # type: ignore[arg-type]
    stats = store.stats(None)
    assert stats.total == 3
    assert stats.by_sentiment == {"negative": 3}
    assert stats.by_status == {"claimed": 1, "resolved": 1, "alerted": 1}
    assert stats.median_seconds_to_claim == pytest.approx(120)
    assert stats.median_seconds_to_resolve == pytest.approx(600)


def test_feed_state_is_saved_and_replaced(store: Store, clock: Clock) -> None:
    assert store.feed_state("feed") == FeedState()
    store.save_feed_state("feed", FeedState(etag='"v1"', last_modified="Mon"), at=clock())
    store.save_feed_state("feed", FeedState(etag='"v2"'), at=clock())
    assert store.feed_state("feed") == FeedState(etag='"v2"', last_modified="")


def test_labels_are_exported_with_the_mention_text(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    mention_id = store.add_mention(make_mention(title="", text="niet goed"), alert=True)
    store.add_label(mention_id, label="complaint", actor="U1", at=clock())  # type: ignore[arg-type]
    [row] = store.labels()
    assert row["text"] == "niet goed"
    assert row["label"] == "complaint"
    assert row["labelled_by"] == "U1"


def test_feed_lease_is_held_by_one_replica_until_released_or_expired(
    store: Store, clock: Clock
) -> None:
    until = clock() + timedelta(seconds=300)
    assert store.lease_feed("feed", holder="r1", now=clock(), until=until)
    assert not store.lease_feed("feed", holder="r2", now=clock(), until=until)
    assert store.lease_feed("feed", holder="r1", now=clock(), until=until)  # renewing is fine
    store.release_feed("feed", holder="r1", next_due=clock() + timedelta(seconds=60))
    assert not store.lease_feed("feed", holder="r2", now=clock.advance(59), until=until)
    assert store.lease_feed("feed", holder="r2", now=clock.advance(1), until=until)


def test_feed_state_keeps_a_cursor(store: Store, clock: Clock) -> None:
    store.save_feed_state("stream", FeedState(cursor="1732431600000000"), at=clock())
    assert store.feed_state("stream").cursor == "1732431600000000"


def test_source_health_counts_polls_and_tracks_a_failure_streak(store: Store, clock: Clock) -> None:
    store.record_poll("feed", at=clock(), interval=60, items=5)
    first_failure = clock.advance(60)
    store.record_poll("feed", at=first_failure, interval=60, error="HTTP 500")
    store.record_poll("feed", at=clock.advance(120), interval=60, error="HTTP 502")
    store.mark_ops_alerted("feed", at=clock())
    [status] = store.source_statuses()
    assert (status.polls, status.errors, status.items_seen) == (3, 2, 5)
    assert status.consecutive_failures == 2 and status.last_error == "HTTP 502"
    assert status.failing_since == first_failure and status.ops_alerted_at == clock()
    store.record_poll("feed", at=clock.advance(60), interval=60, items=1)
    [healed] = store.source_statuses()
    assert healed.consecutive_failures == 0 and healed.failing_since is None
    assert healed.ops_alerted_at is None and healed.last_success_at == clock()


def test_alert_delay_runs_from_publication_to_posting(
    store: Store, make_mention: Callable[..., Mention], clock: Clock
) -> None:
    published = clock() - timedelta(seconds=40)
    store.add_mention(make_mention(published_at=published), alert=True)
    store.add_mention(make_mention(published_at=None, source="other"), alert=True)
    for alert in store.due_deliveries(clock(), 10):
        store.mark_delivered(
            alert.id, message=MessageRef("slack", "C0ALERTS", "1.0"), at=clock.advance(2)
        )
    delays = store.alert_delays(clock() - timedelta(days=1))
    assert delays["test-feed"] == [pytest.approx(42)]
    assert delays["other"] == [pytest.approx(4)]  # no publication time: from fetching

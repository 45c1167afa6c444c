"""A source failing for an hour is told to the ops channel once, not once per poll."""

from __future__ import annotations

from datetime import timedelta

from bot.chat.slack.transport import SlackAdapter, delivery_client
from bot.models import Route
from bot.ops import notify_failing_sources
from bot.outbox import Outbox
from bot.store import Store
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack


def fail(store: Store, clock: Clock, source: str, polls: int, every: float = 600) -> None:
    for _ in range(polls):
        store.record_poll(source, at=clock(), interval=300, error="HTTP 503")
        clock.advance(every)


OPS = Route("slack", "#ops")


def test_one_notice_per_failure_streak_queued_not_posted(sqlite_store: Store, clock: Clock) -> None:
    fail(sqlite_store, clock, "broken", polls=3)  # 30 minutes of failing
    assert notify_failing_sources(sqlite_store, OPS, clock()) == []
    fail(sqlite_store, clock, "broken", polls=4)  # now over an hour
    assert notify_failing_sources(sqlite_store, OPS, clock()) == ["broken"]
    fail(sqlite_store, clock, "broken", polls=6)  # still failing: no second notice
    assert notify_failing_sources(sqlite_store, OPS, clock()) == []
    queued = sqlite_store.due_notices(clock(), 10)
    assert [n.route for n in queued] == [OPS]
    assert "Source broken has failed for" in queued[0].text
    # It recovers, then breaks again for an hour: a new streak earns a new notice.
    sqlite_store.record_poll("broken", at=clock(), interval=300, items=1)
    fail(sqlite_store, clock, "broken", polls=8)
    assert notify_failing_sources(sqlite_store, OPS, clock()) == ["broken"]


def test_notice_reaches_slack_escaped(
    sqlite_store: Store, clock: Clock, fake_slack: FakeSlack
) -> None:
    adapter = SlackAdapter(delivery_client("xoxb-test", fake_slack.api_url))
    sqlite_store.record_poll(
        "evil", at=clock() - timedelta(hours=2), interval=60, error="<!channel>"
    )
    assert notify_failing_sources(sqlite_store, OPS, clock()) == ["evil"]
    assert fake_slack.calls == []  # queued: the poll loop never waits for Slack
    assert Outbox(sqlite_store, {"slack": adapter}, clock).deliver_due().notices == 1
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body["channel"] == "C0OPS"
    assert "&lt;!channel&gt;" in call.body["text"] and "<!channel>" not in call.body["text"]

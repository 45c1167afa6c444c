"""A source failing for an hour is told to the ops channel once, not once per poll."""

from __future__ import annotations

import io
from datetime import timedelta

from bot.chat.notifier import ConsoleNotifier
from bot.chat.slack.notifier import SlackNotifier, notifier_client

from bot.ops import notify_failing_sources
from bot.store import Store
from tests.conftest import Clock
from tests.fakes.fake_slack import FakeSlack


def fail(store: Store, clock: Clock, source: str, polls: int, every: float = 600) -> None:
    for _ in range(polls):
        store.record_poll(source, at=clock(), interval=300, error="HTTP 503")
        clock.advance(every)


def test_one_notice_per_failure_streak(sqlite_store: Store, clock: Clock) -> None:
    out = io.StringIO()
    notifier = ConsoleNotifier(out)
    fail(sqlite_store, clock, "broken", polls=3)  # 30 minutes of failing
    assert notify_failing_sources(sqlite_store, notifier, "C0OPS", clock()) == []
    fail(sqlite_store, clock, "broken", polls=4)  # now over an hour
    assert notify_failing_sources(sqlite_store, notifier, "C0OPS", clock()) == ["broken"]
    fail(sqlite_store, clock, "broken", polls=6)  # still failing: no second notice
    assert notify_failing_sources(sqlite_store, notifier, "C0OPS", clock()) == []
    assert out.getvalue().count("Source broken has failed for") == 1
    # It recovers, then breaks again for an hour: a new streak earns a new notice.
    sqlite_store.record_poll("broken", at=clock(), interval=300, items=1)
    fail(sqlite_store, clock, "broken", polls=8)
    assert notify_failing_sources(sqlite_store, notifier, "C0OPS", clock()) == ["broken"]


def test_notice_reaches_slack_escaped(
    sqlite_store: Store, clock: Clock, fake_slack: FakeSlack
) -> None:
    notifier = SlackNotifier(notifier_client("xoxb-test", fake_slack.api_url))
    sqlite_store.record_poll(
        "evil", at=clock() - timedelta(hours=2), interval=60, error="<!channel>"
    )
    assert notify_failing_sources(sqlite_store, notifier, "C0OPS", clock()) == ["evil"]
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body["channel"] == "C0OPS"
    assert "&lt;!channel&gt;" in call.body["text"] and "<!channel>" not in call.body["text"]

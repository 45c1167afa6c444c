"""A slow Slack delays alerts, never polling: the poller and the outbox run apart."""

from __future__ import annotations

import threading

from bot.runtime import start_background
from bot.store import MentionQuery
from tests.e2e.conftest import Bot
from tests.faults.harness import wait_until


def test_polling_goes_on_while_slack_hangs_and_alerts_follow_when_it_answers(bot: Bot) -> None:
    release = bot.fake.hold("chat.postMessage")
    stop = threading.Event()
    threads = start_background(bot.runtime, stop)
    try:
        store = bot.runtime.store
        # Every feed gets polled and stored while the first delivery is stuck in Slack.
        wait_until(lambda: len(store.source_statuses()) == 8, timeout=20)
        flagged = store.find_mentions(MentionQuery(flagged_only=True, limit=1000))
        assert flagged and bot.fake.calls_to("chat.postMessage") == []
        release.set()
        bot.fake.wait_for("chat.postMessage", count=len(flagged), timeout=20)
        wait_until(lambda: store.pending_count() == 0, timeout=20)
    finally:
        release.set()
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert len(bot.fake.calls_to("chat.postMessage")) == len(flagged)

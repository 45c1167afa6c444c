"""SlackNotifier against the fake Slack (exact JSON, error classification) and the console."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from bot.chat.notifier import ConsoleNotifier, DeliveryError
from bot.chat.slack.blocks import alert_blocks, alert_text
from bot.chat.slack.notifier import SlackNotifier, notifier_client

from bot.config import ConfigError, load_settings
from bot.models import Mention
from bot.outbox import Outbox
from bot.store import Store
from tests.conftest import Clock, make_verdict
from tests.fakes.fake_slack import FakeSlack

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def notifier(fake: FakeSlack) -> SlackNotifier:
    return SlackNotifier(notifier_client("xoxb-test", fake.api_url), clock=lambda: NOW)


def test_post_alert_sends_exactly_this_json_and_returns_the_ts(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    mention = make_mention(id=7)
    ts = notifier(fake_slack).post_alert(mention, "C0ALERTS")
    assert ts == "1700000000.000001"
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body == {
        "channel": "C0ALERTS",
        "text": alert_text(mention),
        "blocks": alert_blocks(mention, [], [], NOW),
        "unfurl_links": False,
        "unfurl_media": False,
        "metadata": {"event_type": "mention_alert", "event_payload": {"mention_id": 7}},
    }


def test_rate_limit_is_surfaced_with_retry_after_not_slept_on(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack).post_alert(make_mention(id=1), "C0ALERTS")
    assert (caught.value.permanent, caught.value.retry_after) == (False, 7.0)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1, "no hidden retry inside"


@pytest.mark.parametrize(
    ("status", "error", "permanent"),
    [
        (200, "channel_not_found", True),
        (200, "not_in_channel", True),
        (200, "invalid_auth", True),
        (200, "is_archived", True),
        (200, "invalid_blocks", True),
        (200, "internal_error", False),
        (500, "", False),
        (503, "", False),
    ],
)
def test_slack_errors_are_classified_permanent_or_transient(
    fake_slack: FakeSlack,
    make_mention: Callable[..., Mention],
    status: int,
    error: str,
    permanent: bool,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=status, error=error)
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack).post_alert(make_mention(id=1), "C0ALERTS")
    assert caught.value.permanent is permanent
    assert caught.value.retry_after is None


def test_unreachable_slack_is_transient(make_mention: Callable[..., Mention]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = notifier_client("xoxb-test", f"http://127.0.0.1:{port}/api/", timeout=2)
    with pytest.raises(DeliveryError) as caught:
        SlackNotifier(client).post_alert(make_mention(id=1), "C0ALERTS")
    assert caught.value.permanent is False


def test_missing_channel_is_permanent_without_calling_slack(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    with pytest.raises(DeliveryError) as caught:
        notifier(fake_slack).post_alert(make_mention(id=1), "")
    assert caught.value.permanent is True
    assert fake_slack.calls == []


def test_outbox_keeps_a_rate_limited_alert_and_delivers_it_once_later(
    fake_slack: FakeSlack,
    sqlite_store: Store,
    make_mention: Callable[..., Mention],
    clock: Clock,
) -> None:
    mention_id = sqlite_store.add_mention(make_mention(), alert=True)
    outbox = Outbox(sqlite_store, SlackNotifier(notifier_client("xoxb-t", fake_slack.api_url)),
                    clock)  # fmt: skip
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=3)
    report = outbox.deliver_due()
    assert (report.delivered, report.paused_for) == (0, 3.0)
    clock.advance(3)
    assert outbox.deliver_due().delivered == 1
    clock.advance(3600)
    assert outbox.deliver_due().delivered == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    alert = sqlite_store.alert_for(mention_id)  # type: ignore[arg-type]
    assert alert is not None and alert.chat_ts == "1700000000.000001"


def test_console_notifier_prints_a_readable_alert(make_mention: Callable[..., Mention]) -> None:
    stream = io.StringIO()
    mention = make_mention(
        id=3,
        title="Acme\x1b[31m broke it",
        text="Really bad.\nSecond line.",
        verdict=make_verdict(reason="angry words"),
        published_at=NOW.replace(hour=9),
    )
    assert ConsoleNotifier(stream, clock=lambda: NOW).post_alert(mention, "C0ALERTS") == ""
    out = stream.getvalue()
    assert "⚠ Acme · negative (-0.60) · attention 0.60 · #C0ALERTS" in out
    assert "test-feed · jdoe · 3 h ago" in out
    assert "Acme[31m broke it" in out and "\x1b" not in out
    assert "“Really bad. Second line.”" in out
    assert "https://example.com/post/" in out
    assert "matched: acme · why: angry words" in out
    assert "mention #3" in out


def test_build_app_fails_readably(fake_slack: FakeSlack, sqlite_store: Store) -> None:
    from bot.chat.slack.app import build_app

    no_secret = load_settings(
        slack_bot_token="xoxb-t", slack_mode="http", slack_api_url=fake_slack.api_url
    )
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is required"):
        build_app(no_secret, sqlite_store)
    fake_slack.fail_next("auth.test", error="invalid_auth")
    bad_token = load_settings(slack_bot_token="xoxb-secret-value", slack_api_url=fake_slack.api_url)
    with pytest.raises(ConfigError, match="Slack rejected SLACK_BOT_TOKEN") as caught:
        build_app(bad_token, sqlite_store)
    assert "xoxb-secret-value" not in str(caught.value)


# --- exactly once after an uncertain attempt ------------------------------------------------------

SLACK_EPOCH = datetime(2023, 11, 14, 22, 0, tzinfo=UTC)  # the fake's ts start at 1700000000


def test_a_5xx_after_posting_is_uncertain_and_find_posted_finds_the_message(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    mention = make_mention(id=11, fetched_at=SLACK_EPOCH)
    slack = notifier(fake_slack)
    fake_slack.fail_next("chat.postMessage", status=500, after_effect=True)
    with pytest.raises(DeliveryError) as caught:
        slack.post_alert(mention, "C0ALERTS")
    assert caught.value.uncertain is True and caught.value.permanent is False
    assert slack.find_posted(mention, "C0ALERTS") == "1700000000.000001"
    assert slack.find_posted(make_mention(id=12, fetched_at=SLACK_EPOCH), "C0ALERTS") is None
    [history, _] = fake_slack.calls_to("conversations.history")
    assert history.body["channel"] == "C0ALERTS"


def test_outbox_does_not_post_twice_after_an_uncertain_failure(
    fake_slack: FakeSlack,
    sqlite_store: Store,
    make_mention: Callable[..., Mention],
    clock: Clock,
) -> None:
    clock.now = SLACK_EPOCH
    mention_id = sqlite_store.add_mention(make_mention(fetched_at=SLACK_EPOCH), alert=True)
    outbox = Outbox(sqlite_store, SlackNotifier(notifier_client("xoxb-t", fake_slack.api_url)),
                    clock)  # fmt: skip
    fake_slack.fail_next("chat.postMessage", status=503, after_effect=True)
    assert outbox.deliver_due().failed == 1
    clock.advance(3600)
    report = outbox.deliver_due()
    assert (report.delivered, report.recovered) == (1, 1)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1, "posted exactly once"
    alert = sqlite_store.alert_for(mention_id)  # type: ignore[arg-type]
    assert alert is not None and alert.chat_ts == "1700000000.000001"


def test_find_posted_without_history_scope_falls_back_to_posting(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    fake_slack.fail_next("conversations.history", error="missing_scope")
    assert notifier(fake_slack).find_posted(make_mention(id=1), "C0ALERTS") is None

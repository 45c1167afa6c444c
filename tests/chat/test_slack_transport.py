"""The Slack adapter's transport against the strict fake Slack (exact JSON, channel names
resolved to ids, error classification), and the console adapter."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.chat.console import ConsoleAdapter
from bot.chat.port import DeliveryError
from bot.chat.service import load_view
from bot.chat.slack.render import alert_blocks, alert_text
from bot.chat.slack.transport import SlackAdapter, delivery_client
from bot.chat.views import alert_view
from bot.config import ConfigError, load_settings
from bot.models import Mention, MessageRef, Route
from bot.outbox import Outbox
from bot.store import Store
from tests.conftest import Clock, make_verdict
from tests.fakes.fake_slack import FakeSlack

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALERTS = Route("slack", "#alerts")


def adapter(fake: FakeSlack) -> SlackAdapter:
    return SlackAdapter(delivery_client("xoxb-test", fake.api_url))


def view(mention: Mention):  # type: ignore[no-untyped-def]
    return alert_view(mention, [], [])


def test_post_alert_by_channel_name_sends_exactly_this_json_to_the_channel_id(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    mention = make_mention(id=7)
    message = adapter(fake_slack).post_alert(ALERTS, view(mention))
    assert message == MessageRef("slack", "C0ALERTS", "1700000000.000001")
    [listing] = fake_slack.calls_to("conversations.list")
    assert listing.body["types"] == "public_channel,private_channel"
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body == {
        "channel": "C0ALERTS",
        "text": alert_text(view(mention)),
        "blocks": alert_blocks(view(mention)),
        "unfurl_links": False,
        "unfurl_media": False,
        "metadata": {"event_type": "mention_alert", "event_payload": {"mention_id": 7}},
    }


def test_channel_names_are_resolved_through_every_page_once_and_cached(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    for n in range(30):
        fake_slack.add_channel(f"team-{n}")
    wanted = fake_slack.add_channel("Acme-Support")
    fake_slack.list_page_size = 7
    slack = adapter(fake_slack)
    assert slack.channel_id(Route("slack", "#acme-support")) == wanted
    pages = len(fake_slack.calls_to("conversations.list"))
    assert pages == 5  # 35 channels, 7 a page: the last page holds it
    assert slack.channel_id(Route("slack", "acme-support")) == wanted
    assert slack.channel_id(Route("slack", "C0ALERTS")) == "C0ALERTS"  # an id is an id
    assert len(fake_slack.calls_to("conversations.list")) == pages


def test_a_channel_the_bot_cannot_see_is_a_permanent_error_that_says_what_to_do(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    fake_slack.add_channel("secret", private=True, member=False)
    with pytest.raises(DeliveryError) as caught:
        adapter(fake_slack).post_alert(Route("slack", "#secret"), view(make_mention(id=1)))
    assert caught.value.permanent and "invite the bot" in str(caught.value)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_without_channels_read_the_name_is_posted_and_the_returned_id_kept(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    fake_slack.fail_next("conversations.list", error="missing_scope")
    slack = adapter(fake_slack)
    message = slack.post_alert(ALERTS, view(make_mention(id=1)))
    assert message.channel_id == "C0ALERTS"
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.body["channel"] == "#alerts"
    assert slack.channel_id(ALERTS) == "C0ALERTS"  # learnt from Slack's answer


def test_the_fake_refuses_channel_names_where_slack_does(fake_slack: FakeSlack) -> None:
    client = delivery_client("xoxb-test", fake_slack.api_url)
    posted = client.chat_postMessage(channel="#alerts", text="hi")
    assert posted["channel"] == "C0ALERTS"
    from slack_sdk.errors import SlackApiError

    for call in (
        lambda: client.chat_update(channel="#alerts", ts=posted["ts"], text="x"),
        lambda: client.chat_postEphemeral(channel="#alerts", user="U1", text="x"),
        lambda: client.conversations_history(channel="#alerts"),
    ):
        with pytest.raises(SlackApiError, match="channel_not_found"):
            call()
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_update(channel="C0ALERTS", ts="1.000", text="x")
    client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="x")


def test_rate_limit_is_surfaced_with_retry_after_not_slept_on(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        adapter(fake_slack).post_alert(ALERTS, view(make_mention(id=1)))
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
        adapter(fake_slack).post_alert(ALERTS, view(make_mention(id=1)))
    assert caught.value.permanent is permanent
    assert caught.value.retry_after is None


def test_unreachable_slack_is_transient(make_mention: Callable[..., Mention]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = delivery_client("xoxb-test", f"http://127.0.0.1:{port}/api/", timeout=2)
    with pytest.raises(DeliveryError) as caught:
        SlackAdapter(client).post_alert(Route("slack", "C0ALERTS"), view(make_mention(id=1)))
    assert caught.value.permanent is False


def test_outbox_keeps_a_rate_limited_alert_and_delivers_it_once_later(
    fake_slack: FakeSlack,
    sqlite_store: Store,
    make_mention: Callable[..., Mention],
    clock: Clock,
) -> None:
    mention_id = sqlite_store.add_mention(make_mention(), alert=True)
    outbox = Outbox(sqlite_store, {"slack": adapter(fake_slack)}, clock)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=3)
    report = outbox.deliver_due()
    assert (report.delivered, report.paused_for) == (0, 3.0)
    clock.advance(3)
    assert outbox.deliver_due().delivered == 1
    clock.advance(3600)
    assert outbox.deliver_due().delivered == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    [delivery] = sqlite_store.deliveries(mention_id)  # type: ignore[arg-type]
    assert delivery.message == MessageRef("slack", "C0ALERTS", "1700000000.000001")


def test_console_adapter_prints_a_readable_alert(make_mention: Callable[..., Mention]) -> None:
    stream = io.StringIO()
    mention = make_mention(
        id=3,
        title="Acme\x1b[31m broke it",
        text="Really bad.\nSecond line.",
        verdict=make_verdict(reason="angry words"),
        published_at=NOW.replace(hour=9),
    )
    console = ConsoleAdapter(stream, clock=lambda: NOW)
    console.post_alert(Route("slack", "C0ALERTS"), view(mention))
    out = stream.getvalue()
    assert "⚠ Acme · negative (-0.60) · attention 0.60 · #C0ALERTS" in out
    assert "test-feed · jdoe · 3 h ago" in out
    assert "Acme[31m broke it" in out and "\x1b" not in out
    assert "“Really bad. Second line.”" in out
    assert "https://example.com/post/" in out
    assert "matched: acme" in out and "Why: angry words" in out
    assert "mention #3" in out


def test_build_app_fails_readably(fake_slack: FakeSlack, sqlite_store: Store, clock: Clock) -> None:
    from bot.chat.service import ChatService
    from bot.chat.slack.app import build_app

    service = ChatService(sqlite_store, {}, clock)
    no_secret = load_settings(
        slack_bot_token="xoxb-t", slack_mode="http", slack_api_url=fake_slack.api_url
    )
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is required"):
        build_app(no_secret, service)
    fake_slack.fail_next("auth.test", error="invalid_auth")
    bad_token = load_settings(slack_bot_token="xoxb-secret-value", slack_api_url=fake_slack.api_url)
    with pytest.raises(ConfigError, match="Slack rejected SLACK_BOT_TOKEN") as caught:
        build_app(bad_token, service)
    assert "xoxb-secret-value" not in str(caught.value)


# --- exactly once after an uncertain attempt ------------------------------------------------------

SLACK_EPOCH = datetime(2023, 11, 14, 22, 0, tzinfo=UTC)  # the fake's ts start at 1700000000


def test_a_5xx_after_posting_is_uncertain_and_find_alert_finds_the_message_by_its_id(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    mention = make_mention(id=11, fetched_at=SLACK_EPOCH)
    slack = adapter(fake_slack)
    fake_slack.fail_next("chat.postMessage", status=500, after_effect=True)
    with pytest.raises(DeliveryError) as caught:
        slack.post_alert(ALERTS, view(mention))
    assert caught.value.uncertain is True and caught.value.permanent is False
    found = slack.find_alert(ALERTS, 11, SLACK_EPOCH)
    assert found == MessageRef("slack", "C0ALERTS", "1700000000.000001")
    assert slack.find_alert(ALERTS, 12, SLACK_EPOCH) is None
    [history, _] = fake_slack.calls_to("conversations.history")
    assert history.body["channel"] == "C0ALERTS", "history is read by id, never by name"


def test_outbox_does_not_post_twice_after_an_uncertain_failure_with_a_named_channel(
    fake_slack: FakeSlack,
    sqlite_store: Store,
    make_mention: Callable[..., Mention],
    clock: Clock,
) -> None:
    clock.now = SLACK_EPOCH
    mention_id = sqlite_store.add_mention(make_mention(fetched_at=SLACK_EPOCH), alert=True)
    outbox = Outbox(sqlite_store, {"slack": adapter(fake_slack)}, clock)
    fake_slack.fail_next("chat.postMessage", status=503, after_effect=True)
    assert outbox.deliver_due().failed == 1
    clock.advance(3600)
    report = outbox.deliver_due()
    assert (report.delivered, report.recovered) == (1, 1)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1, "posted exactly once"
    [delivery] = sqlite_store.deliveries(mention_id)  # type: ignore[arg-type]
    assert delivery.message == MessageRef("slack", "C0ALERTS", "1700000000.000001")


def test_find_alert_without_history_scope_falls_back_to_posting(
    fake_slack: FakeSlack, make_mention: Callable[..., Mention]
) -> None:
    fake_slack.fail_next("conversations.history", error="missing_scope")
    assert adapter(fake_slack).find_alert(ALERTS, 1, NOW) is None


def test_load_view_shows_the_store_as_it_is(
    sqlite_store: Store, make_mention: Callable[..., Mention]
) -> None:
    mention_id = sqlite_store.add_mention(make_mention(), alert=True)
    mention = sqlite_store.get_mention(mention_id)  # type: ignore[arg-type]
    assert mention is not None
    assert load_view(sqlite_store, mention).mention_id == mention_id

"""From feed bytes to a resolved complaint in Slack, through every real part on loopback."""

from __future__ import annotations

import json

from bot.chat.slack.ids import Action, Block, Callback
from bot.models import Status
from bot.store import MentionQuery
from tests.e2e.conftest import CHANNEL_ID, Bot
from tests.fakes.fake_slack import (
    Call,
    block_actions_body,
    slash_command_body,
    view_submission_body,
)


def alerted_ids(calls: list[Call]) -> list[int]:
    return [
        c.body["metadata"]["event_payload"]["mention_id"]
        for c in calls
        if "thread_ts" not in c.body and "metadata" in c.body
    ]


def test_feeds_to_alerts_exactly_once_then_claim_reply_resolve_from_slack(bot: Bot) -> None:
    store, fake = bot.runtime.store, bot.fake

    # --- poll: every feed parses, matching entries are stored once, negatives alerted ----
    report = bot.runtime.poller.poll_once()
    assert (report.polled, report.failed) == (8, 0)
    stored = store.find_mentions(MentionQuery(limit=1000))
    titles = {m.title for m in stored}
    assert "Weekly deals at Acme Markets" not in titles  # excluded term
    outage = [m for m in stored if "outage leaves thousands" in m.title]
    assert len(outage) == 1  # syndicated on two sites, one mention
    assert all(m.matched_term == "acme" for m in stored)
    flagged = store.find_mentions(MentionQuery(flagged_only=True, limit=1000))
    assert flagged, "the sample feeds hold complaints; some must be over the threshold"

    delivered = failed = 0
    while (delivery := bot.runtime.outbox.deliver_due()).delivered:  # batches of OUTBOX_BATCH
        delivered += delivery.delivered
        failed += delivery.failed
    assert (delivered, failed) == (len(flagged), 0)
    posts = fake.calls_to("chat.postMessage")
    assert sorted(alerted_ids(posts)) == sorted(m.id for m in flagged)  # each exactly once
    for post in posts:
        assert post.body["channel"] == CHANNEL_ID  # resolved from the name, by Slack's list
        assert post.body["unfurl_links"] is False and post.body["text"]
        assert len(post.body["blocks"]) <= 50
        assert "<!channel>" not in json.dumps(post.body)  # mention text can never ping

    # --- a second poll finds nothing new and posts nothing ---------------------------------
    again = bot.runtime.poller.poll_once()
    assert again.pipeline.stored == 0
    assert bot.runtime.outbox.deliver_due().delivered == 0
    assert len(fake.calls_to("chat.postMessage")) == len(posts)

    # --- claim from the alert's button: the message is redrawn in place -------------------
    target = flagged[0]
    assert target.id is not None
    [delivery] = store.deliveries(target.id)
    assert delivery.message is not None and delivery.message.channel_id == CHANNEL_ID
    ts = delivery.message.message_id

    def click(action: Action, user: str) -> None:
        body = block_actions_body(
            action.value, str(target.id), user=user, channel=CHANNEL_ID, message_ts=ts,
            response_url=fake.response_url(),
        )  # fmt: skip
        assert bot.post(body).status == 200

    def updates() -> list[Call]:
        return [c for c in fake.calls_to("chat.update") if c.body.get("ts") == ts]

    click(Action.CLAIM, "U0SANNE")
    [claimed] = fake.wait_for("chat.update", where=lambda c: c.body.get("ts") == ts)
    assert "Claimed by <@U0SANNE>" in json.dumps(claimed.body["blocks"])
    assert store.get_mention(target.id).status == Status.CLAIMED  # type: ignore[union-attr]

    # A second person is told who owns it, privately.
    click(Action.CLAIM, "U0TOM")
    [told] = fake.wait_for("chat.postEphemeral")
    assert told.body["user"] == "U0TOM" and "<@U0SANNE>" in told.body["text"]

    # --- reply: the modal opens with a draft; submitting posts in the thread --------------
    click(Action.REPLY, "U0SANNE")
    [opened] = fake.wait_for("views.open")
    assert opened.body["view"]["private_metadata"] == str(target.id)
    typed = {"type": "plain_text_input", "value": "Sorry, we are on it."}
    values = {Block.REPLY_INPUT: {Action.REPLY_TEXT: typed}}
    sent = bot.post(
        view_submission_body(Callback.REPLY_MODAL, str(target.id), values, user="U0SANNE")
    )
    assert sent.status == 200
    [thread] = fake.wait_for("chat.postMessage", where=lambda c: c.body.get("thread_ts") == ts)
    assert "Sorry, we are on it." in thread.body["text"]
    assert store.get_mention(target.id).status == Status.REPLIED  # type: ignore[union-attr]
    [reply] = store.replies(target.id)
    assert (reply.actor, reply.text) == ("slack:U0SANNE", "Sorry, we are on it.")

    # --- resolve: who, and the message says so ---------------------------------------------
    seen = len(updates())
    click(Action.RESOLVE, "U0SANNE")
    fake.wait_for("chat.update", count=seen + 1, where=lambda c: c.body.get("ts") == ts)
    assert "Resolved by <@U0SANNE>" in json.dumps(updates()[-1].body["blocks"])
    history = [(t.to_status, t.actor) for t in store.history(target.id)]
    assert history == [
        (Status.ALERTED, "system"),
        (Status.CLAIMED, "slack:U0SANNE"),
        (Status.REPLIED, "slack:U0SANNE"),
        (Status.RESOLVED, "slack:U0SANNE"),
    ]

    # --- the slash command sees it all -----------------------------------------------------
    body = slash_command_body(
        "stats 7d", user="U0TOM", channel=CHANNEL_ID, response_url=fake.response_url("stats")
    )
    assert bot.post(body).status == 200
    [answer] = fake.wait_for("response_url")
    assert answer.body["response_type"] == "ephemeral"
    assert "resolved" in json.dumps(answer.body).lower()


def test_unsigned_and_stale_requests_change_nothing(bot: Bot) -> None:
    bot.runtime.poller.poll_once()
    bot.runtime.outbox.deliver_due()
    [target] = bot.runtime.store.find_mentions(MentionQuery(flagged_only=True, limit=1))
    body = block_actions_body(Action.CLAIM.value, str(target.id), channel=CHANNEL_ID)
    assert bot.post(body, signing_secret=None).status == 401
    assert bot.post(body, timestamp=1_000_000_000).status == 401  # 2001: a replay
    assert bot.post(body, signing_secret="not-the-secret").status == 401
    assert bot.runtime.store.get_mention(target.id).status == Status.ALERTED  # type: ignore[arg-type, union-attr]
    assert bot.fake.calls_to("chat.update") == []

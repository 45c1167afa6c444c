"""Clicks, modal submissions and signatures, through the real Bolt App over HTTP, with the
real slack_sdk WebClient talking to the fake Slack. Asserts on what Slack received and on
the store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bot.chat.slack.ids import Action, Block, Callback
from bot.models import Mention, Status
from tests.chat.conftest import ALERT_CHANNEL, SIGNING_SECRET, SlackEnv
from tests.fakes.fake_slack import Call, block_actions_body, view_submission_body


def click(env: SlackEnv, action: str, mention_id: int, ts: str, user: str = "U0000001") -> None:
    body = block_actions_body(
        action,
        str(mention_id),
        user=user,
        channel=ALERT_CHANNEL,
        message_ts=ts,
        response_url=env.fake.response_url(),
    )
    response = env.post(body)
    assert response.status == 200, response


def updates_of(ts: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("ts") == ts


def block_text(call: Call, block_id: str) -> str:
    [block] = [b for b in call.body["blocks"] if b.get("block_id") == block_id]
    return json.dumps(block, ensure_ascii=False)


def buttons(call: Call) -> list[str]:
    [actions] = [b for b in call.body["blocks"] if b["type"] == "actions"]
    return [e["action_id"] for e in actions["elements"]]


def test_alert_is_posted_with_blocks_fallback_text_metadata_and_no_unfurl(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    [post] = slack_env.fake.calls_to("chat.postMessage")
    assert post.headers["authorization"] == "Bearer xoxb-test-token"
    assert post.body["channel"] == ALERT_CHANNEL
    assert post.body["unfurl_links"] is False and post.body["unfurl_media"] is False
    assert post.body["metadata"] == {
        "event_type": "mention_alert",
        "event_payload": {"mention_id": mention_id},
    }
    assert post.body["text"].startswith("Negative mention of Acme on test-feed by jdoe: ")
    assert buttons(post) == ["mention-claim", "mention-reply", "mention-resolve", "mention-dismiss",
                             "mention-open-link", "mention-wrong-label",
                             "mention-more"]  # fmt: skip
    [delivery] = slack_env.store.deliveries(mention_id)
    assert delivery.route.channel == "#alerts", "configured by name"
    assert (delivery.channel_id, delivery.message_id) == (ALERT_CHANNEL, ts), "kept by id"


def test_claim_updates_the_alert_in_place_and_records_the_owner(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    click(slack_env, Action.CLAIM, mention_id, ts, user="U0000001")
    [update] = slack_env.fake.wait_for("chat.update", where=updates_of(ts))
    assert update.body["channel"] == ALERT_CHANNEL
    assert "Claimed by <@U0000001>" in block_text(update, Block.STATE)
    assert buttons(update) == [
        "mention-reply",
        "mention-resolve",
        "mention-unclaim",
        "mention-dismiss",
        "mention-open-link",
        "mention-wrong-label",
        "mention-more",
    ]
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None
    assert (mention.status, mention.owner) == (Status.CLAIMED, "slack:U0000001")
    assert slack_env.fake.calls_to("chat.postEphemeral") == []


def test_reply_button_opens_the_modal_with_a_draft_and_the_original_link(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention(author="Jane Doe"))
    click(slack_env, Action.REPLY, mention_id, ts)
    [opened] = slack_env.fake.wait_for("views.open")
    assert opened.body["trigger_id"] == "1111.2222.abcdef"
    view = opened.body["view"]
    assert view["callback_id"] == "mention-reply-modal"
    assert view["private_metadata"] == str(mention_id)
    [field] = [b for b in view["blocks"] if b.get("block_id") == Block.REPLY_INPUT]
    draft = field["element"]["initial_value"]
    assert draft.startswith("Hi Jane,") and "sorry" in draft
    assert (
        "Note in this thread only: news sites, blogs and feeds have no API for replies. "
        "<https://example.com/post/1|Open to answer on test-feed>" in json.dumps(view["blocks"])
    )


def test_reply_submission_posts_in_the_thread_stores_it_and_marks_replied(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    click(slack_env, Action.REPLY, mention_id, ts)
    [opened] = slack_env.fake.calls_to("views.open")
    typed = "Sorry! <!channel> DM us & we fix it"
    values = {Block.REPLY_INPUT: {Action.REPLY_TEXT: {"type": "plain_text_input", "value": typed}}}
    body = view_submission_body(Callback.REPLY_MODAL, str(mention_id), values)
    response = slack_env.post(body)
    assert response.status == 200 and response.body == ""
    [thread_post] = slack_env.fake.wait_for(
        "chat.postMessage", where=lambda c: "thread_ts" in c.body
    )
    assert thread_post.body == {
        "channel": ALERT_CHANNEL,
        "thread_ts": ts,
        "text": "💬 Reply by <@U0000001> (not sent to the customer):\n"
        "Sorry! &lt;!channel&gt; DM us &amp; we fix it",
        "unfurl_links": False,
        "unfurl_media": False,
    }
    [update] = slack_env.fake.wait_for("chat.update", where=updates_of(ts))
    assert "Replied by <@U0000001> (a note in the alert's thread" in block_text(update, Block.STATE)
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.REPLIED
    [reply] = slack_env.store.replies(mention_id)
    assert (reply.actor, reply.text) == ("slack:U0000001", typed)
    assert opened.body["view"]["private_metadata"] == str(mention_id)


def test_empty_reply_keeps_the_modal_open_with_an_error(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    values = {Block.REPLY_INPUT: {Action.REPLY_TEXT: {"type": "plain_text_input", "value": " "}}}
    response = slack_env.post(view_submission_body(Callback.REPLY_MODAL, str(mention_id), values))
    assert response.status == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"mention-reply-input": "Write a reply first."},
    }
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.ALERTED


def test_resolve_redraws_with_who_and_how_long_and_offers_reopen(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    slack_env.clock.advance(2 * 3600 + 5 * 60)
    click(slack_env, Action.RESOLVE, mention_id, ts, user="U0000002")
    [update] = slack_env.fake.wait_for("chat.update", where=updates_of(ts))
    assert "Resolved by <@U0000002> after 2 h 5 min" in block_text(update, Block.STATE)
    assert buttons(update) == [
        "mention-reopen", "mention-open-link", "mention-wrong-label", "mention-more"
    ]  # fmt: skip
    assert "Resolved by <@U0000002> after 2 h 5 min · <!date^" in block_text(update, Block.STATE)
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.RESOLVED


def test_unknown_action_is_acknowledged_and_changes_nothing(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    slack_env.fake.clear()
    click(slack_env, "mention-from-the-future", mention_id, ts)
    assert slack_env.fake.calls == []  # its listener has finished: nothing was sent
    click(slack_env, Action.CLAIM, mention_id, ts)
    assert [c.method for c in slack_env.fake.calls] == ["chat.update"]
    history = [t.to_status for t in slack_env.store.history(mention_id)]
    assert history == [Status.ALERTED, Status.CLAIMED]


def test_unsigned_request_is_rejected_with_401(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    response = slack_env.post(
        block_actions_body(Action.CLAIM, str(mention_id)), signing_secret=None
    )
    assert response.status == 401
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.ALERTED


def test_stale_timestamp_is_rejected_with_401(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    six_minutes_ago = int(time.time()) - 6 * 60
    body = block_actions_body(Action.CLAIM, str(mention_id))
    assert slack_env.post(body, timestamp=six_minutes_ago).status == 401
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.ALERTED


def test_wrong_signature_is_rejected_with_401(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    body = block_actions_body(Action.CLAIM, str(mention_id))
    assert slack_env.post(body, signing_secret=SIGNING_SECRET[::-1]).status == 401
    tampered = body.replace("U0000001", "UEVIL001")
    headers = {"X-Slack-Signature": "v0=" + "0" * 64}
    assert slack_env.post(tampered, headers=headers).status == 401
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.ALERTED


def test_an_expired_trigger_tells_the_user_instead_of_failing_silently(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    slack_env.fake.fail_next("views.open", error="expired_trigger_id")
    click(slack_env, Action.REPLY, mention_id, ts)
    [told] = slack_env.fake.wait_for("chat.postEphemeral")
    assert told.body["text"] == "Could not open the reply form (expired_trigger_id); try again."


def test_reply_opens_for_an_author_whose_name_holds_braces(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    """A stranger's name is data: "{brand}" and "{0}" once made the draft raise after ack()."""
    mention_id, ts = slack_env.alert(make_mention(author="{brand} {0} }{"))
    click(slack_env, Action.REPLY, mention_id, ts)
    [opened] = slack_env.fake.calls_to("views.open")
    [field] = [b for b in opened.body["view"]["blocks"] if b.get("block_id") == Block.REPLY_INPUT]
    assert field["element"]["initial_value"].startswith("Hi {brand},")
    assert slack_env.fake.calls_to("chat.postEphemeral") == []

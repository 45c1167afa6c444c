"""The HTTP transport itself: health, wrong paths, oversized bodies, and the workflow round
trip Dismiss → Reopen; plus the Socket Mode token check."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

import pytest
from slack_bolt import BoltRequest

from bot.chat.slack.ids import Action, Block
from bot.chat.slack.socket_mode import connect_socket_mode
from bot.config import ConfigError
from bot.models import Mention, Status
from bot.web import MAX_BODY_BYTES
from tests.chat.conftest import ALERT_CHANNEL, SlackEnv
from tests.fakes.fake_slack import FakeSlack, block_actions_body, slack_post


def status_of(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_health_and_unknown_paths(slack_env: SlackEnv) -> None:
    base = slack_env.url.removesuffix("/slack/events")
    assert status_of(urllib.request.Request(base + "/healthz")) == 200
    assert status_of(urllib.request.Request(base + "/nope")) == 404
    assert slack_post(base + "/other", "a=b", "secret").status == 404


def test_oversized_body_is_refused_before_reading_it(slack_env: SlackEnv) -> None:
    url = urllib.parse.urlsplit(slack_env.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        conn.putrequest("POST", url.path)
        conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        conn.endheaders(b"payload=")
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def test_dismiss_then_reopen_round_trip(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    for action, count in ((Action.DISMISS, 1), (Action.REOPEN, 2)):
        body = block_actions_body(action, str(mention_id), channel=ALERT_CHANNEL, message_ts=ts)
        assert slack_env.post(body).status == 200
        updates = slack_env.fake.wait_for("chat.update", count=count)
    last = updates[-1].body
    [state] = [b for b in last["blocks"] if b.get("block_id") == Block.STATE]
    assert state["text"]["text"].startswith("↩️ Reopened by <@U0000001>")
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.ALERTED


def test_a_stale_button_value_changes_nothing_and_says_so(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    slack_env.alert(make_mention())
    body = block_actions_body(Action.CLAIM, "not-a-number", channel=ALERT_CHANNEL)
    assert slack_env.post(body).status == 200
    [told] = slack_env.fake.wait_for("chat.postEphemeral")
    assert told.body["text"] == "That button carries no mention id; nothing changed."


def test_socket_mode_needs_an_app_level_token(slack_env: SlackEnv) -> None:
    settings = slack_env.settings.model_copy(update={"slack_app_token": None})
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        connect_socket_mode(slack_env.app, settings)
    from pydantic import SecretStr

    slack = slack_env.settings.slack.model_copy(update={"app_token": SecretStr("xoxb-nope")})
    wrong = slack_env.settings.model_copy(update={"slack": slack})
    with pytest.raises(ConfigError, match="app-level token"):
        connect_socket_mode(slack_env.app, wrong)


def test_socket_mode_requests_need_no_signing_secret(
    fake_slack: FakeSlack,
    slack_env: SlackEnv,
    make_mention: Callable[..., Mention],
) -> None:
    """What SocketModeHandler does with each envelope: dispatch with mode="socket_mode"."""
    app = slack_env.socket_mode_app()
    mention_id, ts = slack_env.alert(make_mention())
    body = block_actions_body(Action.CLAIM, str(mention_id), channel=ALERT_CHANNEL, message_ts=ts)
    response = app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200
    fake_slack.wait_for("chat.update")
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.CLAIMED

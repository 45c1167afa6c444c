"""Requests that are signed but not for us, malformed, or trying to leak secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

import pytest

from bot.chat.slack.app import build_app
from bot.chat.slack.ids import Action
from bot.chat.slack.transport import SlackAdapter, delivery_client
from bot.config import ConfigError, load_settings
from bot.models import Mention, Status
from bot.outbox import Outbox
from tests.chat.conftest import BOT_TOKEN, SIGNING_SECRET, SlackEnv
from tests.fakes.fake_slack import FakeSlack, block_actions_body, slash_command_body


def _edit_payload(body: str, **changes: object) -> str:
    payload = json.loads(parse_qs(body)["payload"][0])
    payload.update(changes)
    return urlencode({"payload": json.dumps(payload)})


def _claimed_nothing(env: SlackEnv, mention_id: int) -> None:
    mention = env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.ALERTED and mention.owner == ""
    assert env.fake.calls_to("chat.update") == []


def test_a_signed_click_from_another_workspace_is_refused(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    body = block_actions_body(Action.CLAIM.value, str(mention_id), message_ts=ts)
    body = _edit_payload(body, team={"id": "T0OTHERTEAM", "domain": "evil"})
    assert slack_env.post(body).status == 403
    _claimed_nothing(slack_env, mention_id)


def test_a_signed_command_from_another_workspace_is_refused(slack_env: SlackEnv) -> None:
    body = slash_command_body("open").replace("team_id=", "team_id=T0OTHER&x=")
    assert slack_env.post(body).status == 403
    assert slack_env.fake.calls_to("response_url") == []


def test_a_click_for_another_app_is_refused_when_the_app_id_is_set(
    fake_slack: FakeSlack, slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_mode="http",
        slack_api_url=fake_slack.api_url,
        slack_app_id="A0000APP",
    )
    app = build_app(settings, slack_env.service)
    mention_id, ts = slack_env.alert(make_mention())
    from slack_bolt import BoltRequest

    from tests.fakes.fake_slack import sign

    for app_id, expected in (("A0OTHERAPP", 403), ("A0000APP", 200)):
        body = _edit_payload(
            block_actions_body(Action.CLAIM.value, str(mention_id), message_ts=ts),
            api_app_id=app_id,
        )
        headers = {k.lower(): [v] for k, v in sign(body, SIGNING_SECRET).items()}
        headers["content-type"] = ["application/x-www-form-urlencoded"]
        response = app.dispatch(BoltRequest(body=body, headers=headers))
        assert response.status == expected, app_id


@pytest.mark.parametrize(
    "body",
    [
        "payload=not-json",
        "payload=%7B%22type%22%3A%22block_actions%22%7D",  # no user, no actions
        "payload=%5B1%2C2%5D",  # a JSON list
        "command=%2Fmentions",  # a command with nothing else
        "",
        "\x00\x01garbage",
    ],
)
def test_signed_but_malformed_payloads_change_nothing(
    slack_env: SlackEnv, make_mention: Callable[..., Mention], body: str
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    response = slack_env.post(body)
    assert response.status in (200, 400, 404)  # never 500, never a stack trace
    assert "Traceback" not in response.body
    _claimed_nothing(slack_env, mention_id)


def test_tokens_and_secrets_never_reach_logs_or_errors(
    fake_slack: FakeSlack,
    slack_env: SlackEnv,
    make_mention: Callable[..., Mention],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # A delivery that fails in every way Slack can fail it.
    for status, error in ((200, "invalid_auth"), (500, ""), (429, "")):
        fake_slack.fail_next("chat.postMessage", status=status, error=error, retry_after=1)
    adapter = SlackAdapter(delivery_client(BOT_TOKEN, fake_slack.api_url))
    slack_env.store.add_mention(make_mention(), alert=True)
    outbox = Outbox(slack_env.store, {"slack": adapter}, slack_env.clock)
    for _ in range(3):
        outbox.deliver_due()
        slack_env.clock.advance(700)
    # A rejected token at start.
    fake_slack.fail_next("auth.test", error="invalid_auth")
    with pytest.raises(ConfigError) as rejected:
        build_app(slack_env.settings, slack_env.service)
    # Forged and unsigned requests.
    slack_env.post("payload=%7B%7D", signing_secret="wrong-secret")
    slack_env.post("payload=%7B%7D", signing_secret=None)
    text = caplog.text + str(rejected.value) + repr(slack_env.settings)
    for secret in (BOT_TOKEN, SIGNING_SECRET, "test-token"):
        assert secret not in text
    assert "invalid_auth" in caplog.text  # the errors themselves were logged

"""The "Wrong label" menu: a correction is recorded with who and when, shown on the alert,
and exported in the labelled-data format."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from bot.chat.slack.ids import Action
from bot.models import Mention
from tests.chat.conftest import ALERT_CHANNEL, SlackEnv
from tests.fakes.fake_slack import block_actions_body


def choose(env: SlackEnv, value: str, ts: str, user: str = "U0ANNA") -> int:
    body = block_actions_body(Action.WRONG_LABEL.value, "", user=user, channel=ALERT_CHANNEL,
                              message_ts=ts)  # fmt: skip
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["actions"][0].update(
        type="overflow", selected_option={"text": {"type": "plain_text", "text": "x"},
                                          "value": value},
    )  # fmt: skip
    return env.post(urlencode({"payload": json.dumps(payload)})).status


def test_a_correction_is_recorded_shown_and_exported(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention(title="", text="Waar blijft mijn pakket?"))
    [posted] = slack_env.fake.calls_to("chat.postMessage")
    menu = [e for b in posted.body["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "overflow"]  # fmt: skip
    assert [o["value"] for o in menu[0]["options"]] == [
        f"{label}|{mention_id}" for label in ("neutral", "complaint", "question", "irrelevant")
    ]

    assert choose(slack_env, f"complaint|{mention_id}", ts) == 200
    [update] = slack_env.fake.wait_for("chat.update", where=lambda c: c.body.get("ts") == ts)
    assert "corrected: is a complaint" in json.dumps(update.body["blocks"])
    [thanks] = slack_env.fake.wait_for("chat.postEphemeral")
    assert thanks.body["user"] == "U0ANNA" and "is a complaint" in thanks.body["text"]

    [row] = slack_env.store.labels()
    assert row["label"] == "complaint" and row["labelled_by"] == "slack:U0ANNA"
    assert row["text"] == "Waar blijft mijn pakket?"
    assert row["labelled_at"] == slack_env.clock().isoformat()


def test_an_unknown_correction_changes_nothing(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    for value in (f"delete-everything|{mention_id}", "complaint|not-a-number", "complaint|999"):
        assert choose(slack_env, value, ts) == 200
    slack_env.fake.wait_for("chat.postEphemeral", count=3)
    assert slack_env.store.labels() == []
    assert slack_env.fake.calls_to("chat.update") == []

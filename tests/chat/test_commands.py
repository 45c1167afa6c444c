"""`/mentions`: the pure parser (table-driven) and Slack-specific answers through the real
app (the platform-neutral scenarios are in test_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.chat.commands import Command, parse_command
from bot.chat.service import Actor
from bot.models import Mention, Sentiment, Status
from bot.store.base import OwnerRule
from tests.chat.conftest import ALERT_CHANNEL, SlackEnv
from tests.conftest import make_verdict
from tests.fakes.fake_slack import Call, slash_command_body

PARSES = [
    ("", Command("help")),
    ("help", Command("help")),
    ("HELP", Command("help")),
    ("open", Command("open")),
    ("mine", Command("mine")),
    ("show 42", Command("show", mention_id=42)),
    ("show #42", Command("show", mention_id=42)),
    ("claim 7", Command("claim", mention_id=7)),
    ("resolve 7", Command("resolve", mention_id=7)),
    ("stats", Command("stats")),
    ("stats all", Command("stats")),
    ("stats 7d", Command("stats", since=timedelta(days=7))),
    ("stats 24h", Command("stats", since=timedelta(hours=24))),
    ("stats 2w", Command("stats", since=timedelta(weeks=2))),
    ("search refund", Command("search", words=("refund",))),
    ('search "late delivery" box', Command("search", words=("late delivery", "box"))),
    (
        "search refund source:reddit since:7d sentiment:negative",
        Command(
            "search",
            words=("refund",),
            source="reddit",
            since=timedelta(days=7),
            sentiment=Sentiment.NEGATIVE,
        ),
    ),
    ("search since:24h", Command("search", since=timedelta(hours=24))),
    ('search "unbalanced', Command("search", words=('"unbalanced',))),
]


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[t or "(empty)" for t, _ in PARSES])
def test_parser_understands_every_documented_form(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


ERRORS = [
    ("frobnicate", "I don't know “frobnicate”."),
    ("show", "“show” needs one mention number"),
    ("show abc", "“show” needs one mention number"),
    ("claim 1 2", "“claim” needs one mention number"),
    ("resolve 99999999999999999999999", "“resolve” needs one mention number"),
    ("open now", "“open” takes no arguments."),
    ("stats forever", "“stats” takes a period"),
    ("stats 0d", "“stats” takes a period"),
    ("search", "“search” needs words or a filter"),
    ("search x since:soon", "“since:” takes a period"),
    ("search x sentiment:angry", "“sentiment:” is one of"),
    ("search " + "w " * 9, "at most 8 words (9 given)"),
    ("search " + "x" * 61, "at most 60 characters"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[t for t, _ in ERRORS])
def test_parser_turns_bad_input_into_help_with_the_reason(text: str, message: str) -> None:
    command = parse_command(text)
    assert command.name == "help"
    assert message in command.error


# --- through the app ---------------------------------------------------------------------------


def test_a_stranger_command_text_is_escaped_in_the_answer(slack_env: SlackEnv) -> None:
    text = run(slack_env, "<!channel>").body["text"]
    assert "I don't know “&lt;!channel&gt;”." in text and "<!channel>" not in text


def test_a_huge_search_is_refused_with_a_hint_and_never_logged_whole(
    slack_env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    words = " ".join(f"secretword{n}" for n in range(400))
    caplog.set_level("DEBUG")
    text = run(slack_env, f"search {words}").body["text"]
    assert "at most 8 words (400 given)" in text and "source:" in text
    assert "secretword399" not in caplog.text


def run(env: SlackEnv, text: str, user: str = "U0000001", channel: str = ALERT_CHANNEL) -> Call:
    env.fake.clear()
    body = slash_command_body(
        text, user=user, channel=channel, response_url=env.fake.response_url("cmd")
    )
    response = env.post(body)
    assert response.status == 200 and response.body == ""
    [answer] = env.fake.wait_for("response_url")
    assert answer.body["response_type"] == "ephemeral"
    return answer


def test_open_lists_only_unclaimed_alerts(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    open_id, _ = slack_env.alert(make_mention(title="Open one"))
    claimed_id, _ = slack_env.alert(make_mention(title="Claimed one"))
    slack_env.store.transition(
        claimed_id, allowed_from=(Status.ALERTED,), to=Status.CLAIMED, actor="slack:U9",
        at=slack_env.clock(), owner=OwnerRule.ACTOR,
    )  # fmt: skip
    answer = run(slack_env, "open")
    assert f"`#{open_id}`" in answer.body["text"]
    assert "Open one" in answer.body["text"]
    assert "Claimed one" not in answer.body["text"]


def test_mine_lists_what_the_caller_owns(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention(title="Mine"))
    run(slack_env, f"claim {mention_id}", user="UME00001")
    assert "Mine" in run(slack_env, "mine", user="UME00001").body["text"]
    assert "nothing found" in run(slack_env, "mine", user="UOTHER01").body["text"]


def test_show_gives_the_mention_and_its_history(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention(title="Broken <b>box</b>"))
    answer = run(slack_env, f"show {mention_id}")
    assert answer.body["text"] == f"Mention #{mention_id}: Broken &lt;b&gt;box&lt;/b&gt;"
    blocks = answer.body["blocks"]
    assert all(b["type"] != "actions" for b in blocks)
    assert "new → alerted · mentionbot" in blocks[-1]["text"]["text"]
    assert run(slack_env, "show 999").body["text"] == "There is no mention #999 here."


def test_claim_from_the_command_redraws_the_posted_alert(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = slack_env.alert(make_mention())
    answer = run(slack_env, f"claim {mention_id}", user="UCMD0001")
    assert answer.body["text"] == f"#{mention_id}: You claimed this mention."
    [update] = slack_env.fake.wait_for("chat.update")
    assert update.body["ts"] == ts
    assert "Claimed by <@UCMD0001>" in str(update.body["blocks"])
    again = run(slack_env, f"claim {mention_id}", user="UOTHER01")
    assert again.body["text"] == f"#{mention_id}: <@UCMD0001> already claimed this mention."
    assert slack_env.store.get_mention(mention_id).owner == "slack:UCMD0001"  # type: ignore[union-attr]


def test_resolve_from_the_command(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    assert run(slack_env, f"resolve {mention_id}").body["text"].endswith("Marked resolved.")
    mention = slack_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.RESOLVED


def test_search_filters_by_words_and_sentiment(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    slack_env.alert(make_mention(title="Refund never came"))
    slack_env.store.add_mention(
        make_mention(title="Refund was quick", verdict=make_verdict(Sentiment.POSITIVE)),
        alert=False,
    )
    text = run(slack_env, "search refund sentiment:negative since:7d").body["text"]
    assert "Refund never came" in text and "Refund was quick" not in text


def test_stats_counts_by_sentiment_and_status_with_medians(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = slack_env.alert(make_mention())
    slack_env.clock.advance(300)
    run(slack_env, f"claim {mention_id}")
    text = run(slack_env, "stats 7d").body["text"]
    # The team's figures (bot/team/reports.py; tests/team/test_figures.py checks the sums).
    assert text.startswith("Acme — last 7 d\nPer person (claimed · first replies · resolved):")
    assert "• <@U0000001>: 1 · 0 · 0" in text
    assert "Mentions 1 (alerted 1, muted 0)" in text and "by sentiment: negative 1" in text
    assert "  to claim         1       5 min       5 min  1/1 (target 15 min)" in text


@pytest.mark.parametrize("text", ["garbage", "show", "stats forever", "search"])
def test_garbage_gets_usage_not_a_trace(slack_env: SlackEnv, text: str) -> None:
    answer = run(slack_env, text)
    assert "*/mentions* — brand mentions that need a human" in answer.body["text"]
    assert "Traceback" not in answer.body["text"]


def test_commands_are_refused_outside_allowed_channels(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    slack_env.service.allowed_channels = frozenset({"C0OPS"})
    actor = Actor("slack:U1")
    answer = slack_env.service.answer(actor, "slack", "C0ALERTS", "open")
    assert "works only in the channels set in ALLOWED_CHANNELS" in str(answer)
    text = run(slack_env, "open", channel="C0OPS").body["text"]
    assert "No brand sends its alerts to this channel" in text


def test_status_shows_source_health_and_delay(
    slack_env: SlackEnv, make_mention: Callable[..., Mention]
) -> None:
    slack_env.store.record_poll("test-feed", at=slack_env.clock(), interval=300, items=4)
    slack_env.store.record_poll(
        "broken-<feed>", at=slack_env.clock(), interval=60, error="HTTP 503 <!channel>"
    )
    slack_env.alert(make_mention())  # published 5 minutes before it was posted
    answer = run(slack_env, "status")
    text = answer.body["text"]
    assert "test-feed" in text and "5 min / 5 min" in text
    assert "failing ×1" in text and "broken-&lt;feed&gt;" in text
    assert "<!channel>" not in text

"""Routing beyond complaints, moves from an alert (stored as correction labels), and mutes:
through the pipeline with the real lexicon scorer, and through the running Slack app."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.analysis import get_scorer
from bot.config import load_settings
from bot.models import Mention, MuteKind, RawEntry, Route, Status
from bot.pipeline import BrandRule, Pipeline
from bot.store import MentionQuery
from bot.team.commands import TeamCommand, parse_team_command
from bot.team.policy import Policies
from tests.fakes.fake_slack import block_actions_body, slash_command_body
from tests.team.conftest import TeamEnv, watch

ROUTED = """
[[brand]]
name = "Acme"
terms = ["acme"]
channel = "#alerts"
alert_threshold = 0.3
[brand.routing]
questions = "#general"
praise = "digest"
everything = "#acme-mentions"
"""
COMPLAINT = "Acme broke my order, terrible service, refund now"
QUESTION = "How do I reset my Acme router?"
PRAISE = "I love Acme, great support, thank you!"
NEWS = "Acme opens an office in Paris"


def raw(n: int, text: str, *, author: str = "someone", url: str = "") -> RawEntry:
    return RawEntry("feed", f"e{n}", url or f"https://news.example.com/{n}", "", text, author,
                    datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # fmt: skip


def rule(toml: str = ROUTED) -> BrandRule:
    return BrandRule.from_config(watch(toml).brand[0], load_settings())


def routes_of(env: TeamEnv, mention_id: int) -> list[str]:
    return [d.route.channel for d in env.store.deliveries(mention_id)]


def test_questions_and_praise_go_their_own_way_and_everything_reaches_the_firehose(
    team_env: TeamEnv,
) -> None:
    pipeline = Pipeline(team_env.store, get_scorer("lexicon"), team_env.clock)
    report = pipeline.process(rule(), [raw(1, COMPLAINT), raw(2, QUESTION), raw(3, PRAISE),
                                       raw(4, NEWS)])  # fmt: skip
    complaint, question, praise, news = report.new_ids
    assert routes_of(team_env, complaint) == ["#alerts", "#acme-mentions"]
    assert routes_of(team_env, question) == ["#general", "#acme-mentions"]
    assert routes_of(team_env, praise) == ["#acme-mentions"]  # the digest, and the firehose
    assert routes_of(team_env, news) == ["#acme-mentions"]
    assert report.alerts == 2
    team_env.slack.outbox.deliver_due()
    posted = {c.body["channel"] for c in team_env.fake.calls_to("chat.postMessage")}
    assert posted == {"C0ALERTS", "C0000001", "C0ACME0001"}  # names resolved to ids
    # Firehose copies are not alerts: no reminders, not in the open list.
    assert {m.id for m in team_env.store.open_alerts()} == {complaint, question}


def test_a_muted_author_domain_or_phrase_is_stored_and_searchable_but_never_alerted(
    team_env: TeamEnv,
) -> None:
    now = team_env.clock()
    store = team_env.store
    store.add_mute("Acme", MuteKind.AUTHOR, "troll", actor="slack:U1", at=now, until=None)
    store.add_mute("Acme", MuteKind.DOMAIN, "spam.example", actor="slack:U1", at=now,
                   until=now + timedelta(days=1))  # fmt: skip
    store.add_mute("Acme", MuteKind.PHRASE, "free shipping", actor="slack:U1", at=now, until=None)
    store.add_mute("Other", MuteKind.AUTHOR, "bob", actor="slack:U1", at=now, until=None)
    pipeline = Pipeline(store, get_scorer("lexicon"), team_env.clock)
    entries = [
        raw(1, COMPLAINT, author="troll@example.com (Troll)"),
        raw(2, COMPLAINT + " again", url="https://www.spam.example/x"),
        raw(3, COMPLAINT + " Free   Shipping lies"),
        raw(4, COMPLAINT + " (bob)", author="bob", url="https://badspam.example/x"),
    ]
    report = pipeline.process(rule(), entries)
    assert (report.stored, report.muted, report.alerts) == (4, 3, 1)
    alerted = [m for m in map(store.get_mention, report.new_ids) if store.deliveries(m.id)]  # type: ignore[union-attr,arg-type]
    assert [m.author for m in alerted] == ["bob"]  # type: ignore[union-attr]
    found = store.find_mentions(MentionQuery(words=("broke",), limit=10))
    assert len(found) == 4 and sum(m.muted_by is not None for m in found) == 3
    # The domain mute ends: the next mention from that site is alerted again.
    team_env.clock.advance(2 * 86400)
    later = pipeline.process(rule(), [raw(5, COMPLAINT + " later", url="https://spam.example/y")])
    assert later.alerts == 1 and later.muted == 0


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("mute author Troll",
         TeamCommand("mute", MuteKind.AUTHOR, "troll", period=timedelta(days=30))),
        ("mute author @troll for 7d brand:Acme",
         TeamCommand("mute", MuteKind.AUTHOR, "troll", brand="Acme", period=timedelta(days=7))),
        ('mute phrase "free shipping" for ever',
         TeamCommand("mute", MuteKind.PHRASE, "free shipping", period=None)),
        ("mute domain https://www.Spam.example/path",
         TeamCommand("mute", MuteKind.DOMAIN, "spam.example", period=timedelta(days=30))),
        ("mutes", TeamCommand("mutes")),
        ("unmute #3", TeamCommand("unmute", number=3)),
        ("stats 24h Acme", TeamCommand("stats", brand="Acme", period=timedelta(hours=24))),
        ("export", TeamCommand("export", period=timedelta(days=7))),
        ("open", None),
    ],
)  # fmt: skip
def test_team_commands_parse(text: str, command: TeamCommand | None) -> None:
    assert parse_team_command(text) == command


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("mute", "needs what to mute"),
        ("mute author x", "2 to 200 characters"),
        ("mute domain localhost", "is not a domain"),
        ("mute author troll for a-while", "“for” takes a period"),
        ("unmute all", "needs the mute's number"),
        ("stats forever", "takes a period"),
        ("export 7d 8d", "takes a period"),
    ],
)
def test_team_command_mistakes_say_what_is_wrong(text: str, error: str) -> None:
    cmd = parse_team_command(text)
    assert cmd is not None and cmd.name == "help" and error in cmd.error


def command(env: TeamEnv, text: str, user: str = "U0ALICE01") -> str:
    name = f"cmd-{len(env.fake.calls)}"
    body = slash_command_body(text, user=user, channel="C0ALERTS",
                              response_url=env.fake.response_url(name))  # fmt: skip
    assert env.slack.post(body).status == 200
    [answer] = env.fake.wait_for("response_url", where=lambda c: c.path.endswith(name))
    return str(answer.body["text"])


def test_mute_mutes_and_unmute_through_the_slash_command(team_env: TeamEnv) -> None:
    said = command(team_env, "mute phrase <!channel> free shipping")
    assert said.startswith("Muted phrase “&lt;!channel&gt; free shipping” for Acme until <!date^")
    listed = command(team_env, "mutes")
    assert "#1 · Acme · phrase “&lt;!channel&gt; free shipping” · by <@U0ALICE01> until" in listed
    assert command(team_env, "unmute 1").startswith("Lifted mute #1: phrase")
    assert command(team_env, "mutes") == "No mutes in force here."
    assert command(team_env, "unmute 1") == "There is no mute #1 in force here."


def choose(env: TeamEnv, mention_id: int, choice: str, user: str = "U0ALICE01") -> None:
    [delivery] = [d for d in env.store.deliveries(mention_id) if d.route.channel == "#alerts"]
    assert delivery.message is not None
    body = json.loads(
        __import__("urllib.parse").parse.parse_qs(
            block_actions_body("mention-more", "", user=user,
                               channel=delivery.message.channel_id,
                               message_ts=delivery.message.message_id)
        )["payload"][0]
    )  # fmt: skip
    body["actions"][0] = {"type": "overflow", "action_id": "mention-more",
                          "block_id": "mention-alert-actions",
                          "selected_option": {"value": f"{choice}|{mention_id}"}}  # fmt: skip
    from urllib.parse import urlencode

    assert env.slack.post(urlencode({"payload": json.dumps(body)})).status == 200


def test_not_a_complaint_is_a_label_and_dismisses_the_alert(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ts = team_env.alert(make_mention())
    choose(team_env, mention_id, "not_complaint")
    mention = team_env.store.get_mention(mention_id)
    assert mention is not None and mention.status == Status.DISMISSED
    assert [row["label"] for row in team_env.store.labels()] == ["not_complaint"]
    update = team_env.fake.calls_to("chat.update")[-1]
    assert "corrected: not a complaint" in json.dumps(update.body["blocks"], ensure_ascii=False)
    told = team_env.fake.calls_to("chat.postEphemeral")[-1].body["text"]
    assert told == f"Recorded #{mention_id} as not a complaint and dismissed it."


def test_move_to_questions_delivers_it_there_and_records_the_label(
    fake_slack: object, tmp_path: object, clock: object, make_mention: Callable[..., Mention]
) -> None:
    from bot.store import open_store
    from tests.team.conftest import make_team_env

    store = open_store(f"sqlite:///{tmp_path}/moves.db")
    env, stop = make_team_env(fake_slack, store, clock, ROUTED)  # type: ignore[arg-type]
    try:
        mention_id, _ = env.alert(make_mention())
        choose(env, mention_id, "question")
        env.slack.outbox.deliver_due()
        assert routes_of(env, mention_id) == ["#alerts", "#general"]
        assert [d.channel_id for d in store.deliveries(mention_id)] == ["C0ALERTS", "C0000001"]
        assert [row["label"] for row in store.labels()] == ["question"]
    finally:
        stop()
        store.close()


def test_mute_this_author_from_the_alert(
    team_env: TeamEnv, make_mention: Callable[..., Mention]
) -> None:
    mention_id, _ = team_env.alert(make_mention(author="jane@example.com (Jane <!here>)"))
    choose(team_env, mention_id, "mute_author")
    [mute] = team_env.store.active_mutes(team_env.clock())
    assert (mute.brand, mute.kind, mute.value) == ("Acme", MuteKind.AUTHOR, "jane <!here>")
    assert mute.until == team_env.clock() + timedelta(days=30)
    told = team_env.fake.calls_to("chat.postEphemeral")[-1].body["text"]
    assert told.startswith("Muted author “jane &lt;!here&gt;” for Acme until <!date^")


def test_policies_default_for_an_unknown_brand() -> None:
    policy = Policies()("Gone")
    assert policy.targets.claim == timedelta(minutes=15) and policy.routes == ()
    assert Policies.from_brands(watch(ROUTED).brand)("ACME").routing.everything == Route(
        "slack", "#acme-mentions"
    )

"""The Teams alert card as the Bot Connector receives it, exactly, before and after Claim; what
each reader is shown; and the delivery rules (retries, 429, permanent errors, at least once),
all through the real transport against the fake Bot Connector."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import Mention, Route, Status
from tests.chat.drivers import card_verbs
from tests.chat.teams_env import TeamsEnv, base_activity, fake_teams, teams_env  # noqa: F401
from tests.conftest import Clock, make_verdict
from tests.fakes.fake_teams import BOT_ID, TEAM_ID, FakeBotFramework

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "teams"
ALERTS = Route("teams", "Support/alerts")


def hostile_mention(clock: Clock) -> Mention:
    """A complaint whose every field tries to link, ping or format something."""
    return Mention(
        brand="Acme", source="forum.example", external_id="e1",
        url="https://forum.example/t/1", canonical_url="https://forum.example/t/1",
        title="Acme lost my order [click](https://evil.example) <at>General</at>",
        text="Third time @channel! **Never** again: see [refund](https://evil.example/x)",
        author="jan@example.nl (Jan [boss](https://evil.example))",
        published_at=clock() - timedelta(minutes=5), fetched_at=clock(), matched_term="acme",
        verdict=make_verdict(reason="complaint about delivery", lang="en", scorer="e5"),
        routes=(ALERTS,),
    )  # fmt: skip


def _deliver(env: TeamsEnv, mention: Mention) -> tuple[int, str, str]:
    mention_id = env.store.add_mention(mention, alert=True)
    assert mention_id is not None
    assert env.outbox.deliver_due().delivered == 1
    [delivery] = env.store.deliveries(mention_id)
    return mention_id, delivery.channel_id, delivery.message_id


def _card(env: TeamsEnv, message_id: str) -> dict[str, object]:
    activity = env.fake.latest(message_id)
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]  # type: ignore[no-any-return]


def test_the_alert_card_is_exactly_this_before_and_after_claim(
    teams_env: TeamsEnv,  # noqa: F811
    clock: Clock,
) -> None:
    mention_id, channel, message = _deliver(teams_env, hostile_mention(clock))
    assert channel == "19:alerts@thread.tacv2", "posted to the channel the route names"
    posted = teams_env.fake.latest(message)
    assert posted["summary"].startswith("Negative mention of Acme on forum.example")
    expected = json.loads((FIXTURES / "alert-before-claim.json").read_text())
    assert _card(teams_env, message) == expected
    clock.advance(60)
    answer = teams_env.invoke("alice", "mention-claim", {"mention": mention_id}, channel, message)
    # Everyone's copy is replaced (the activity is updated) ...
    assert teams_env.fake.updates(message) == 1
    expected = json.loads((FIXTURES / "alert-after-claim.json").read_text())
    assert _card(teams_env, message) == expected
    # ... and the invoke answers Alice with her own view, which lets her release it.
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert card_verbs(answer["value"]) == [
        "mention-reply", "mention-resolve", "mention-unclaim", "mention-dismiss"
    ]  # fmt: skip
    assert answer["value"]["body"] == expected["body"]


def test_stranger_text_is_only_ever_in_text_runs(teams_env: TeamsEnv, clock: Clock) -> None:  # noqa: F811
    """Markdown and <at> tags render literally in a TextRun; a TextBlock would parse them."""
    _, _, message = _deliver(teams_env, hostile_mention(clock))
    card = _card(teams_env, message)
    for block in card["body"]:  # type: ignore[attr-defined]
        if block["type"] == "TextBlock":
            assert "evil" not in block["text"] and "@channel" not in block["text"]
    runs = [r["text"] for b in card["body"] if b["type"] == "RichTextBlock"  # type: ignore[attr-defined]
            for r in b["inlines"]]  # fmt: skip
    assert any("[click](https://evil.example)" in r for r in runs)
    assert "msteams" not in json.dumps(card["body"]), "no entities: nobody can be mentioned"
    assert {a.get("url") for a in card["actions"] if a["type"] == "Action.OpenUrl"} == {  # type: ignore[attr-defined]
        "https://forum.example/t/1"
    }


def test_each_reader_sees_the_buttons_that_apply_to_them(
    teams_env: TeamsEnv,  # noqa: F811
    clock: Clock,
) -> None:
    mention_id, channel, message = _deliver(teams_env, hostile_mention(clock))
    teams_env.invoke("alice", "mention-claim", {"mention": mention_id}, channel, message)
    refresh = {"mention": mention_id}
    for person, unclaim in (("alice", True), ("admin", True), ("bob", False)):
        answer = teams_env.invoke(person, "mention-refresh", refresh, channel, message)
        assert ("mention-unclaim" in card_verbs(answer["value"])) is unclaim, person
    assert "mention-unclaim" not in card_verbs(_card(teams_env, message))


def test_reply_form_is_inline_for_the_clicker_and_its_reply_is_noted_in_the_thread(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    mention = make_mention(author="sanne@example.nl (Sanne {0} de Vries)", routes=(ALERTS,))
    mention_id, channel, message = _deliver(teams_env, mention)
    form = teams_env.invoke("bob", "mention-reply", {"mention": mention_id}, channel, message)
    card = form["value"]
    [field] = [b for b in card["body"] if b["type"] == "Input.Text"]
    assert field["value"].startswith("Hi Sanne,"), "the same draft as on Slack"
    assert teams_env.fake.updates(message) == 0, "the form is Bob's alone: nothing redrawn"
    [send] = [a for a in card["actions"] if a["verb"] == "mention-reply-send"]
    data = {**send["data"], "mention-reply-text": "Sorry <at>all</at>, DM us"}
    answer = teams_env.invoke("bob", "mention-reply-send", data, channel, message)
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    [note] = teams_env.fake.posts(f"{channel};messageid={message}")
    runs = [r["text"] for b in note.body["attachments"][0]["content"]["body"]
            for r in b["inlines"]]  # fmt: skip
    assert "Sorry <at>all</at>, DM us" in "".join(runs)
    [reply] = teams_env.store.replies(mention_id)
    assert reply.text == "Sorry <at>all</at>, DM us" and reply.actor == "teams:aad-bob"
    again = teams_env.invoke("bob", "mention-reply-send", data, channel, message)
    assert "not one I opened for you" in again["value"], "a form posts once"


def test_a_rate_limit_pauses_the_route_for_as_long_as_teams_said(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    teams_env.fake.fail_next("post", 429, retry_after="7")
    mention_id = teams_env.store.add_mention(make_mention(routes=(ALERTS,)), alert=True)
    assert mention_id is not None
    report = teams_env.outbox.deliver_due()
    assert (report.delivered, report.failed, report.paused_for) == (0, 1, 7.0)
    [health] = teams_env.store.route_health()
    assert health.route == ALERTS and "rate limited" in health.last_error
    teams_env.clock.advance(8)
    assert teams_env.outbox.deliver_due().delivered == 1


def test_a_5xx_may_have_posted_so_the_alert_is_posted_again_at_least_once(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    teams_env.fake.fail_next("post", 502, after_effect=True)
    mention_id = teams_env.store.add_mention(make_mention(routes=(ALERTS,)), alert=True)
    assert mention_id is not None
    assert teams_env.outbox.deliver_due().failed == 1
    [delivery] = teams_env.store.deliveries(mention_id)
    assert delivery.maybe_posted and delivery.message_id == ""
    teams_env.clock.advance(600)
    assert teams_env.outbox.deliver_due().delivered == 1
    copies = [a for a in teams_env.fake.posts("19:alerts@thread.tacv2")
              if a.body["attachments"][0]["content"]["actions"][0]["data"]["mention"]
              == mention_id]  # fmt: skip
    assert len(copies) == 2, "Teams cannot be searched for the first copy: at least once"


def test_a_bot_removed_from_the_team_is_a_permanent_error_for_that_route(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    activity = base_activity(teams_env.fake, "admin", TEAM_ID, "")
    activity.update({"type": "conversationUpdate", "membersRemoved": [{"id": BOT_ID}]})
    assert teams_env.post(activity).status_code == 200
    mention_id = teams_env.store.add_mention(make_mention(routes=(ALERTS,)), alert=True)
    assert mention_id is not None
    assert teams_env.outbox.deliver_due().failed == 1
    [health] = teams_env.store.route_health()
    assert "removed from Teams channel 'Support/alerts'" in health.last_error
    assert teams_env.fake.calls_to("post") == [], "nothing was sent to a team that left"


def test_teams_refusing_the_bot_is_permanent_and_names_the_cause(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    teams_env.fake.remove_bot("19:alerts@thread.tacv2")  # removed while we were not told
    mention_id = teams_env.store.add_mention(make_mention(routes=(ALERTS,)), alert=True)
    assert mention_id is not None
    assert teams_env.outbox.deliver_due().failed == 1
    [health] = teams_env.store.route_health()
    assert "BotNotInConversationRoster" in health.last_error
    stored = teams_env.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.NEW, "kept queued, not lost"


def test_a_rejected_secret_is_permanent_and_never_logged(
    fake_teams: FakeBotFramework,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
    make_mention: Callable[..., Mention],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.store import open_store
    from tests.chat.teams_env import make_teams_env, teams_settings

    store = open_store(f"sqlite:///{tmp_path / 'bad.db'}")
    settings = teams_settings(fake_teams, teams_app_password="wrong-secret-value")
    env, stop = make_teams_env(fake_teams, store, clock, settings=settings)
    try:
        env.install()  # cannot list channels without a token: learns the team's General
        mention_id = store.add_mention(make_mention(routes=(Route("teams", TEAM_ID),)), alert=True)
        assert mention_id is not None
        with caplog.at_level("DEBUG"):
            assert env.outbox.deliver_due().failed == 1
        [health] = store.route_health()
        assert "refused the bot's credentials (invalid_client)" in health.last_error
        assert "wrong-secret-value" not in caplog.text
    finally:
        stop()
        store.close()

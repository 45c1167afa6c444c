"""The team workflow on Teams: the response-time line and the More menu on the alert card,
moves and mutes from it, and a person's home in their personal chat with working buttons."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.models import Mention, Route, Status
from tests.chat.teams_env import TeamsEnv, fake_teams, teams_env  # noqa: F401 (fixtures)
from tests.conftest import Clock

ALERTS = Route("teams", "Support/alerts")


def _deliver(env: TeamsEnv, mention: Mention) -> tuple[int, str, str]:
    mention_id = env.store.add_mention(mention, alert=True)
    assert mention_id is not None and env.outbox.deliver_due().delivered == 1
    [delivery] = env.store.deliveries(mention_id)
    return mention_id, delivery.channel_id, delivery.message_id


def test_the_card_offers_the_more_menu_and_moving_is_recorded_as_a_correction(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    mention_id, channel, message = _deliver(teams_env, make_mention(routes=(ALERTS,)))
    card = teams_env.fake.latest(message)["attachments"][0]["content"]
    [more] = [a for a in card["actions"] if a.get("title") == "More"]
    choices = {a["data"]["choice"] for a in more["card"]["actions"]}
    assert {"not_complaint", "question", "mute_author", "mute_domain"} <= choices
    teams_env.invoke("alice", "mention-more", {"mention": mention_id, "choice": "not_complaint"},
                     channel, message)  # fmt: skip
    assert "not_complaint" in {row["label"] for row in teams_env.store.labels()}
    assert teams_env.store.get_mention(mention_id).status == Status.DISMISSED  # type: ignore[union-attr]


def test_home_in_the_personal_chat_lists_what_i_hold_and_its_buttons_act(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
    clock: Clock,
) -> None:
    mine, channel, message = _deliver(
        teams_env, make_mention(title="Lost parcel", routes=(ALERTS,))
    )
    queued, _, _ = _deliver(teams_env, make_mention(title="Double charge", routes=(ALERTS,)))
    teams_env.invoke("alice", "mention-claim", {"mention": mine}, channel, message)
    chat = "a:personal-alice"  # where the bot answers her privately
    assert teams_env.say("alice", "home", channel).status_code == 200
    [home] = teams_env.fake.posts(chat)
    card = home.body["attachments"][0]["content"]
    text = json.dumps(card, ensure_ascii=False)
    assert "Yours (1)" in text and "Lost parcel" in text
    assert "Open, nobody holds them (1)" in text and "Double charge" in text
    assert "This week" in text
    buttons = [a for block in card["body"] if block["type"] == "ActionSet"
               for a in block["actions"]]  # fmt: skip
    [resolve] = [b for b in buttons if b["verb"] == "mention-resolve"
                 and b["data"]["mention"] == mine]  # fmt: skip
    # Clicked in the personal chat, on the person's own home card.
    teams_env.invoke("alice", resolve["verb"], resolve["data"], chat, home.id)
    assert teams_env.store.get_mention(mine).status == Status.RESOLVED  # type: ignore[union-attr]
    assert teams_env.store.get_mention(queued).status == Status.ALERTED  # type: ignore[union-attr]
    # Without the home mark, a button is still bound to the message it was clicked on.
    teams_env.invoke("alice", "mention-claim", {"mention": queued}, chat, home.id)
    assert teams_env.store.get_mention(queued).status == Status.ALERTED  # type: ignore[union-attr]


def test_export_on_teams_asks_consent_then_uploads_the_csv_and_shows_the_file(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
) -> None:
    from tests.chat.teams_env import base_activity

    _, channel, _ = _deliver(teams_env, make_mention(title="Lost parcel", routes=(ALERTS,)))
    assert teams_env.say("alice", "export 7d", channel).status_code == 200
    chat = "a:personal-alice"
    [offer] = teams_env.fake.posts(chat)
    [consent] = offer.body["attachments"]
    assert consent["contentType"] == "application/vnd.microsoft.teams.card.file.consent"
    assert consent["name"].endswith(".csv") and consent["content"]["sizeInBytes"] > 0
    context = consent["content"]["acceptContext"]
    assert context == {"command": "export 7d", "channel": channel}
    # Alice accepts: Teams sends the invoke with an upload session in her OneDrive.
    invoke = base_activity(teams_env.fake, "alice", chat, "")
    upload_url = teams_env.fake.service_url + "upload/alice/" + consent["name"]
    invoke.update({"type": "invoke", "name": "fileConsent/invoke", "value": {
        "type": "fileUpload", "action": "accept", "context": context,
        "uploadInfo": {"name": consent["name"], "uploadUrl": upload_url,
                       "contentUrl": "https://contoso.sharepoint.com/alice/export.csv",
                       "uniqueId": "u-1", "fileType": "csv"},
    }})  # fmt: skip
    assert teams_env.post(invoke).status_code == 200
    [csv] = teams_env.fake.uploads.values()
    assert csv.splitlines()[0].startswith("id,") and "Lost parcel" in csv
    [_, shown] = teams_env.fake.posts(chat)
    [info] = shown.body["attachments"]
    assert info["contentType"] == "application/vnd.microsoft.teams.card.file.info"
    assert info["content"] == {"uniqueId": "u-1", "fileType": "csv"}


def test_the_digest_on_teams_is_a_card_with_the_chart_inline_and_the_same_numbers_as_a_table(
    teams_env: TeamsEnv,  # noqa: F811
    make_mention: Callable[..., Mention],
    clock: Clock,
) -> None:
    import base64
    import tomllib
    from datetime import timedelta

    from bot.config import WatchList
    from bot.team.build import senders
    from bot.team.digest import Digests
    from bot.team.policy import Policies

    toml = """
[[brand]]
name = "Acme"
terms = ["acme"]
[[brand.route]]
platform = "teams"
channel = "Support/alerts"
[brand.targets]
timezone = "UTC"
[brand.digest]
daily = "09:00"
"""
    policies = Policies.from_brands(WatchList.model_validate(tomllib.loads(toml)).brand)
    for n in range(3):
        _deliver(
            teams_env,
            make_mention(
                title=f"Broken order {n}",
                routes=(ALERTS,),
                fetched_at=clock(),
                published_at=clock(),
            ),
        )
    job = Digests(teams_env.store, policies, senders({"teams": teams_env.adapter}), clock)
    now = clock().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert job.run_due(now) == 1
    assert job.run_due(now + timedelta(minutes=1)) == 0  # once
    [post] = [p for p in teams_env.fake.posts() if "digest" in json.dumps(p.body)]
    card = post.body["attachments"][0]["content"]
    [image] = [b for b in card["body"] if b["type"] == "Image"]
    prefix = "data:image/png;base64,"
    assert image["url"].startswith(prefix) and image["altText"].startswith("Mentions of Acme per")
    assert base64.b64decode(image["url"][len(prefix) :])[:8] == b"\x89PNG\r\n\x1a\n"
    text = json.dumps(card, ensure_ascii=False)
    assert "3 mentions (3 negative" in text and "Broken order 0" in text
    assert "Monospace" in text  # the table, for clients that show no image


def test_a_spike_alert_on_teams_is_one_card_with_the_top_mentions_and_common_phrases(
    teams_env: TeamsEnv,  # noqa: F811
    clock: Clock,
) -> None:
    from bot.chat.teams.team import TeamsTeamSender
    from bot.chat.views import Link
    from bot.team.spikes import SpikeView

    view = SpikeView(
        brand="Acme", count=100, usual=24.0, since=clock(),
        headline="📈 Spike: 100 negative mentions of Acme in the last hour (usually about 24)",
        summary=(("Mostly from reddit.com",),),
        top=((Link("Acme app charged me <at>all</at> twice", "https://s.example/1"),),),
        phrases=(("charged twice", 100),),
    )  # fmt: skip
    TeamsTeamSender(teams_env.adapter).post_spike(ALERTS, view)
    [post] = [p for p in teams_env.fake.posts() if "Spike" in json.dumps(p.body)]
    assert post.body["summary"].startswith("📈 Spike: 100 negative mentions of Acme")
    text = json.dumps(post.body["attachments"][0]["content"], ensure_ascii=False)
    assert "“charged twice” × 100" in text and "https://s.example/1" in text
    assert "<at>all</at>" not in text  # a title cannot mention the whole team

"""A public reply from Teams: the inline form offers the explicit choice, the post goes to the
brand's Mastodon account as a reply, the card is redrawn with the link and a Delete that takes
it back; a refusal gives the same form again with the text kept."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.chat.service import ChatService
from bot.config import WatchList, load_settings
from bot.models import Mention, ReplyWhere, Route, Status
from bot.outbox import Outbox
from bot.publish.registry import PublicReplies
from bot.store import open_store
from tests.chat.teams_env import TeamsEnv, fake_teams, make_teams_env  # noqa: F401 (fixture)
from tests.conftest import Clock, make_verdict
from tests.fakes.fake_teams import FakeBotFramework
from tests.fakes.social.mastodon import TOKEN, FakeMastodon

ALERTS = Route("teams", "Support/alerts")
REMOTE_URI = "https://mastodon.social/users/sanne/statuses/113560000000000001"


@pytest.fixture
def world(
    fake_teams: FakeBotFramework,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
) -> Iterator[tuple[TeamsEnv, FakeMastodon]]:
    mastodon = FakeMastodon().start()
    watch = WatchList.model_validate({"brand": [{
        "name": "Acme", "terms": ["acme"], "route": [{"platform": "teams",
                                                      "channel": ALERTS.channel}],
        "sources": [{"name": "acme-mastodon", "kind": "mastodon",
                     "instance": "https://mastodon.social", "tag": "acme"}],
        "account": [{"platform": "mastodon", "instance": mastodon.base_url,
                     "token_env": "ACME_MASTODON_TOKEN"}],
    }]})  # fmt: skip
    public = PublicReplies.from_config(
        watch, load_settings(public_reply_timeout=5), {"ACME_MASTODON_TOKEN": TOKEN}
    )
    store = open_store(f"sqlite:///{tmp_path / 'teams-public.db'}")
    service = ChatService(store, {}, clock, brand_routes={"Acme": (ALERTS,)}, public=public)
    env, stop = make_teams_env(fake_teams, store, clock, join=(service, Outbox(store, {}, clock)))
    try:
        env.install()
        yield env, mastodon
    finally:
        stop()
        public.close()
        store.close()
        mastodon.stop()


def _reply_form(env: TeamsEnv, mastodon: FakeMastodon, make_mention: Callable[..., Mention]):  # type: ignore[no-untyped-def]
    mastodon.add_status(uri=REMOTE_URI, acct="sanne@mastodon.social")
    mention = make_mention(source="acme-mastodon", external_id=REMOTE_URI, author="sanne",
                           url="https://mastodon.social/@sanne/113560000000000001",
                           verdict=make_verdict(lang="en"), routes=(ALERTS,))  # fmt: skip
    mention_id = env.store.add_mention(mention, alert=True)
    assert mention_id is not None and env.outbox.deliver_due().delivered == 1
    [delivery] = env.store.deliveries(mention_id)
    channel, message = delivery.channel_id, delivery.message_id
    form = env.invoke("alice", "mention-reply", {"mention": mention_id}, channel, message)
    return mention_id, channel, message, form["value"]


def _send(card: dict[str, Any], text: str, where: str | None) -> dict[str, Any]:
    [send] = [a for a in card["actions"] if a["verb"] == "mention-reply-send"]
    data = {**send["data"], "mention-reply-text": text}
    if where is not None:
        data["mention-reply-where"] = where
    return data


def test_a_teams_user_posts_publicly_on_mastodon_and_can_take_it_back(
    world: tuple[TeamsEnv, FakeMastodon], make_mention: Callable[..., Mention]
) -> None:
    env, mastodon = world
    mention_id, channel, message, card = _reply_form(env, mastodon, make_mention)
    [choice] = [b for b in card["body"] if b["type"] == "Input.ChoiceSet"]
    assert choice["isRequired"] is True and "value" not in choice, "nothing preselected"
    assert [c["value"] for c in choice["choices"]] == ["public", "thread"]
    assert choice["choices"][0]["title"].startswith("Post publicly on Mastodon as @acme@")
    assert "in reply to @sanne@mastodon.social" in choice["choices"][0]["title"]

    env.invoke("alice", "mention-reply-send", _send(card, "Sorry Sanne, DM us?", "public"),
               channel, message)  # fmt: skip
    [post] = mastodon.calls("/api/v1/statuses", "POST")
    body = post.json
    assert body["in_reply_to_id"] == mastodon.by_uri[REMOTE_URI]
    assert body["status"] == "Sorry Sanne, DM us?" and body["visibility"] == "public"
    [reply] = env.store.replies(mention_id)
    assert reply.where == ReplyWhere.PUBLIC and reply.link and reply.actor == "teams:aad-alice"
    assert env.store.get_mention(mention_id).status == Status.REPLIED  # type: ignore[union-attr]
    redrawn = json.dumps(env.fake.latest(message)["attachments"][0]["content"])
    assert "Replied publicly" in redrawn and reply.link in redrawn
    assert "mention-delete-reply" in redrawn

    env.invoke("alice", "mention-delete-reply", {"mention": mention_id, "reply": 1},
               channel, message)  # fmt: skip
    [deleted] = [r for r in mastodon.requests if r.method == "DELETE"]
    assert deleted.path.endswith(reply.remote_id)
    assert env.store.replies(mention_id)[0].deleted_at is not None


def test_without_a_choice_or_when_mastodon_refuses_the_form_comes_back_with_the_text(
    world: tuple[TeamsEnv, FakeMastodon], make_mention: Callable[..., Mention]
) -> None:
    env, mastodon = world
    mention_id, channel, message, card = _reply_form(env, mastodon, make_mention)
    mastodon.token = "revoked"  # the brand's token no longer works
    again = env.invoke("alice", "mention-reply-send", _send(card, "Sorry!", "public"),
                       channel, message)  # fmt: skip
    assert again["type"] == "application/vnd.microsoft.card.adaptive"
    body = again["value"]["body"]
    [field] = [b for b in body if b["type"] == "Input.Text"]
    assert field["value"] == "Sorry!", "the draft is kept"
    assert "ACME_MASTODON_TOKEN" in json.dumps(body), "the reason names what to fix"
    assert env.store.replies(mention_id) == []
    assert env.store.get_mention(mention_id).status == Status.ALERTED  # type: ignore[union-attr]

"""Public replies, the whole way: a click on Reply through the real Slack transport (signed
requests into the running Bolt app, the strict fake Slack), the dialog's explicit choice,
the post to the fake Mastodon, Bluesky or Reddit API as the brand's account, and the alert
redrawn with the public link, the thread note and Delete; every failure keeps the draft and
records nothing; Delete takes the reply back through the same API."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.chat.drafts import Template
from bot.config import WatchList, load_settings
from bot.models import Mention, Reply, Status
from bot.publish.registry import PublicReplies
from bot.store import open_store
from tests.chat.conftest import ALERT_CHANNEL, SlackEnv, make_slack_env
from tests.chat.test_slack_interactions import block_text
from tests.conftest import Clock, make_verdict
from tests.fakes.fake_slack import FakeSlack, block_actions_body, view_submission_body
from tests.fakes.slack_fixtures import fake_slack  # noqa: F401 (fixture)
from tests.fakes.social import bluesky as pds_fake
from tests.fakes.social import reddit as reddit_fake
from tests.fakes.social.bluesky import FakePds
from tests.fakes.social.mastodon import TOKEN, FakeMastodon
from tests.fakes.social.reddit import FakeReddit

ALICE, BOB = "U0ALICE01", "U0BOB0001"
REMOTE_URI = "https://mastodon.social/users/sanne/statuses/113560000000000001"
SANNE_DID = "did:plc:sanne00000000000000000"
BSKY_URI = f"at://{SANNE_DID}/app.bsky.feed.post/3lbqaaaaaaa2x"
PERMALINK = "/r/acme/comments/abc123/acme_lost_my_parcel/"
ENVIRON = {
    "ACME_MASTODON_TOKEN": TOKEN,
    "ACME_BSKY_PASSWORD": pds_fake.APP_PASSWORD,
    "ACME_REDDIT_ID": reddit_fake.CLIENT_ID,
    "ACME_REDDIT_SECRET": reddit_fake.CLIENT_SECRET,
    "ACME_REDDIT_PASSWORD": reddit_fake.PASSWORD,
}
SECRETS = (TOKEN, pds_fake.APP_PASSWORD, reddit_fake.CLIENT_SECRET, reddit_fake.PASSWORD)


@dataclass
class World:
    env: SlackEnv
    mastodon: FakeMastodon
    pds: FakePds
    reddit: FakeReddit
    clock: Clock


def watch_list(mastodon: FakeMastodon, pds: FakePds, repliers: list[str] | None) -> WatchList:
    brand: dict[str, Any] = {
        "name": "Acme",
        "terms": ["acme"],
        "channel": "#alerts",
        "sources": [
            {"name": "acme-mastodon", "kind": "mastodon", "instance": "https://mastodon.social",
             "tag": "acme"},
            {"name": "acme-bluesky", "kind": "bluesky"},
            {"name": "acme-reddit", "kind": "reddit", "query": "acme"},
            {"name": "acme-hn", "kind": "hackernews", "query": "acme"},
        ],
        "account": [
            {"platform": "mastodon", "instance": mastodon.base_url,
             "token_env": "ACME_MASTODON_TOKEN"},
            {"platform": "bluesky", "handle": pds_fake.HANDLE, "service": pds.base_url,
             "password_env": "ACME_BSKY_PASSWORD"},
            {"platform": "reddit", "username": reddit_fake.USERNAME,
             "client_id_env": "ACME_REDDIT_ID", "client_secret_env": "ACME_REDDIT_SECRET",
             "password_env": "ACME_REDDIT_PASSWORD"},
        ],
        "template": [{"lang": "nl", "text": "Hoi {name}, sorry voor het gedoe! — {brand}"}],
    }  # fmt: skip
    if repliers is not None:
        brand["public_repliers"] = repliers
    return WatchList.model_validate({"brand": [brand]})


def templates_of(watch: WatchList) -> dict[str, list[Template]]:
    return {b.name: [Template(t.lang, t.text, t.kind) for t in b.template] for b in watch.brand}


def make_world(
    fake: FakeSlack, tmp_path: Path, clock: Clock, repliers: list[str] | None = None
) -> Iterator[World]:
    mastodon, pds, reddit = FakeMastodon().start(), FakePds().start(), FakeReddit().start()
    settings = load_settings(
        reddit_auth_url=reddit.base_url, reddit_api_url=reddit.base_url,
        public_reply_undo_seconds=300, public_reply_timeout=5,
    )  # fmt: skip
    watch = watch_list(mastodon, pds, repliers)
    public = PublicReplies.from_config(watch, settings, ENVIRON)
    store = open_store(f"sqlite:///{tmp_path / 'public.db'}")
    env, stop = make_slack_env(fake, store, clock, public=public, templates=templates_of(watch))
    try:
        yield World(env, mastodon, pds, reddit, clock)
    finally:
        stop()
        public.close()
        store.close()
        for server in (mastodon, pds, reddit):
            server.stop()


@pytest.fixture
def world(
    fake_slack: FakeSlack,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
) -> Iterator[World]:
    yield from make_world(fake_slack, tmp_path, clock)


# --- the mentions, one per platform, as each source records them ------------------------------


def mastodon_mention(world: World, make: Callable[..., Mention]) -> Mention:
    world.mastodon.add_status(uri=REMOTE_URI, acct="sanne@mastodon.social")
    return make(source="acme-mastodon", external_id=REMOTE_URI,
                url="https://mastodon.social/@sanne/113560000000000001", author="sanne",
                title="", verdict=make_verdict(lang="nl"))  # fmt: skip


def bluesky_mention(world: World, make: Callable[..., Mention]) -> Mention:
    world.pds.add_post(BSKY_URI, handle="sanne.bsky.social", text="Acme kwijt")
    return make(source="acme-bluesky", external_id=BSKY_URI,
                url=f"https://bsky.app/profile/{SANNE_DID}/post/3lbqaaaaaaa2x",
                author=SANNE_DID, title="")  # fmt: skip


def reddit_mention(world: World, make: Callable[..., Mention]) -> Mention:
    world.reddit.add_post("t3_abc123", PERMALINK)
    return make(source="acme-reddit", external_id="reddit:t3_abc123",
                url="https://www.reddit.com" + PERMALINK, author="sanne")  # fmt: skip


# --- driving Slack ------------------------------------------------------------------------------


def click(world: World, action: str, value: str, ts: str, user: str = ALICE) -> None:
    body = block_actions_body(action, value, user=user, channel=ALERT_CHANNEL, message_ts=ts)
    assert world.env.post(body).status == 200


def open_reply(world: World, mention_id: int, ts: str, user: str = ALICE) -> dict[str, Any]:
    before = len(world.env.fake.calls_to("views.open"))
    click(world, "mention-reply", str(mention_id), ts, user)
    opened = world.env.fake.calls_to("views.open")
    assert len(opened) == before + 1
    view = dict(opened[-1].body["view"])
    # The fake numbers every view it is sent (open, update, push) in one sequence.
    sent = sum(len(world.env.fake.calls_to(m)) for m in ("views.open", "views.update"))
    view["id"] = f"V{sent:08d}"
    return view


def submit(
    world: World, view_id: str, mention_id: int, text: str, where: str | None, user: str = ALICE
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mention-reply-input": {"mention-reply-text": {"type": "plain_text_input", "value": text}}
    }
    if where is not None:
        values["mention-reply-where"] = {
            "mention-reply-where": {"type": "radio_buttons", "selected_option": {"value": where}}
        }
    body = view_submission_body(
        "mention-reply-modal", str(mention_id), values, user=user, view_id=view_id
    )
    response = world.env.post(body)
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    [found] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return found


def last_alert(world: World, ts: str) -> dict[str, Any]:
    updates = [c for c in world.env.fake.calls_to("chat.update") if c.body.get("ts") == ts]
    return updates[-1].body


def buttons(alert: dict[str, Any]) -> list[str]:
    [actions] = [b for b in alert["blocks"] if b["type"] == "actions"]
    return [e["action_id"] for e in actions["elements"]]


# --- the whole flow, per platform ---------------------------------------------------------------

CASES = {
    "mastodon": (
        mastodon_mention,
        "Post publicly on Mastodon",
        "as @acme@127.0.0.1, in reply to @sanne@mastodon.social",
        "Hoi @sanne@mastodon.social, sorry voor het gedoe! — Acme",
    ),
    "bluesky": (
        bluesky_mention,
        "Post publicly on Bluesky",
        f"as @{pds_fake.HANDLE}, in reply to @sanne.bsky.social",
        "Hi @sanne.bsky.social,",
    ),
    "reddit": (
        reddit_mention,
        "Post publicly on Reddit",
        "as u/acme_support, in reply to u/sanne",
        "Hi sanne,",
    ),
}


def sent_to_platform(world: World, platform: str) -> dict[str, Any]:
    """The request that posted the reply, as the fake platform received it."""
    if platform == "mastodon":
        [post] = world.mastodon.calls("/api/v1/statuses", "POST")
        assert post.headers["authorization"] == f"Bearer {TOKEN}"
        return {"json": post.json}
    if platform == "bluesky":
        [create] = world.pds.calls("/xrpc/com.atproto.repo.createRecord")
        assert create.headers["authorization"].startswith("Bearer access-")
        return {"json": create.json}
    [comment] = world.reddit.calls("/api/comment")
    assert comment.headers["authorization"].startswith("bearer reddit-bearer-")
    return {"form": comment.form}


@pytest.mark.parametrize("platform", list(CASES))
def test_a_public_reply_goes_from_the_click_to_the_platform_and_back_into_the_alert(
    world: World,
    make_mention: Callable[..., Mention],
    platform: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    build, choice, detail, greeting = CASES[platform]
    mention_id, ts = world.env.alert(build(world, make_mention))
    view = open_reply(world, mention_id, ts)

    # The dialog: an explicit choice, nothing preselected; the draft addresses the author.
    where = block(view, "mention-reply-where")["element"]
    assert "initial_option" not in where
    [public, note] = where["options"]
    assert (public["text"]["text"], public["description"]["text"]) == (choice, detail)
    assert (public["value"], note["value"]) == ("public", "thread")
    field = block(view, "mention-reply-input")
    draft = field["element"]["initial_value"]
    assert draft.startswith(greeting)
    limit = {"mastodon": "500", "bluesky": "300", "reddit": "10,000"}[platform]
    assert field["hint"]["text"].startswith(f"{choice.split()[-1]}: at most {limit} characters")

    text = draft if platform != "bluesky" else "Hi @sanne.bsky.social, sorry! DM us?"
    answer = submit(world, view["id"], mention_id, text, "public")
    assert answer["response_action"] == "update"
    assert "Posting your reply" in json.dumps(answer["view"])

    # The platform got the reply through its own mechanism.
    sent = sent_to_platform(world, platform)
    if platform == "mastodon":
        local_id = world.mastodon.by_uri[REMOTE_URI]
        assert sent["json"] == {"status": text, "in_reply_to_id": local_id,
                                "visibility": "public", "language": "nl"}  # fmt: skip
    elif platform == "bluesky":
        record = sent["json"]["record"]
        parent = {"uri": BSKY_URI, "cid": world.pds.posts[BSKY_URI]["cid"]}
        assert record["reply"] == {"root": parent, "parent": parent}
        assert record["facets"][0]["features"] == [
            {"$type": "app.bsky.richtext.facet#mention", "did": SANNE_DID}
        ]
    else:
        assert sent["form"] == {"api_type": "json", "thing_id": "t3_abc123", "text": text}

    # The store: one public reply with its link and id, status replied, history.
    [reply] = world.env.store.replies(mention_id)
    assert reply.public and reply.platform == platform and reply.actor == f"slack:{ALICE}"
    assert reply.link.startswith(("https://127.0.0.1/@acme/", "https://bsky.app/profile/",
                                  "https://www.reddit.com/r/acme/"))  # fmt: skip
    stored = world.env.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.REPLIED
    assert stored.owner == f"slack:{ALICE}"

    # The modal says it is done, with the link.
    [done] = world.env.fake.calls_to("views.update")
    assert done.body["view_id"] == view["id"]
    assert reply.link in json.dumps(done.body["view"])

    # The alert: where it went, the link, and Delete while it can be taken back.
    alert = last_alert(world, ts)
    state = block_text(world.env.fake.calls_to("chat.update")[-1], "mention-alert-state")
    label = {"mastodon": "Mastodon", "bluesky": "Bluesky", "reddit": "Reddit"}[platform]
    assert f"Replied publicly by <@{ALICE}> on {label} as" in state
    assert f"<{reply.link}|see the reply>" in state
    assert "mention-delete-reply" in buttons(alert)
    # The thread: a note with the link.
    [note] = [c for c in world.env.fake.calls_to("chat.postMessage") if c.body.get("thread_ts")]
    assert f"posted publicly on {label}" in note.body["text"] and reply.link in note.body["text"]
    for secret in SECRETS:
        assert secret not in caplog.text


@pytest.mark.parametrize("platform", list(CASES))
def test_delete_takes_the_reply_back_through_the_same_api_and_records_it(
    world: World, make_mention: Callable[..., Mention], platform: str
) -> None:
    build = CASES[platform][0]
    mention_id, ts = world.env.alert(build(world, make_mention))
    view = open_reply(world, mention_id, ts)
    submit(world, view["id"], mention_id, "Sorry, DM us!", "public")
    [reply] = world.env.store.replies(mention_id)
    click(world, "mention-delete-reply", f"{mention_id}:{reply.id}", ts)
    if platform == "mastodon":
        assert world.mastodon.calls(f"/api/v1/statuses/{reply.remote_id}", "DELETE")
    elif platform == "bluesky":
        [delete] = world.pds.calls("/xrpc/com.atproto.repo.deleteRecord")
        assert delete.json["rkey"] == reply.remote_id.rsplit("/", 1)[-1]
    else:
        [delete] = world.reddit.calls("/api/del")
        assert delete.form == {"id": reply.remote_id}
    [reply] = world.env.store.replies(mention_id)
    assert reply.deleted_by == f"slack:{ALICE}" and reply.deleted_at is not None
    stored = world.env.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.CLAIMED, "nobody has answered now"
    last = world.env.store.history(mention_id)[-1]
    assert (last.from_status, last.to_status) == (Status.REPLIED, Status.CLAIMED)
    assert "deleted the public reply" in last.note
    alert = last_alert(world, ts)
    assert "mention-delete-reply" not in buttons(alert)
    assert "deleted by" in json.dumps(alert["blocks"])


# --- failures: told exactly why, nothing recorded, the draft kept -----------------------------

# Mastodon says when the limit lifts as a time; the bot counts from the real clock, so the
# time is written when the test runs.
IN_FIVE_MINUTES = "five minutes from now"
FAILURES = [
    ("mastodon", "/api/v1/statuses", 429, {"error": "Too many requests"},
     {"X-RateLimit-Reset": IN_FIVE_MINUTES},
     "Not posted: Mastodon's rate limit for the brand's account is reached; "
     "try again in 5 minutes."),
    ("mastodon", "/api/v1/statuses", 401, {"error": "The access token is invalid"}, {},
     "Not posted: Mastodon refused the brand's access token (ACME_MASTODON_TOKEN)"),
    ("mastodon", "/api/v1/statuses", 404,
     {"error": "The post you are trying to reply to does not appear to exist."}, {},
     "Not posted: Mastodon says the post no longer exists: it was deleted."),
    ("bluesky", "/xrpc/com.atproto.repo.createRecord", 400,
     {"error": "ExpiredToken", "message": "Token has expired"}, {}, None),
    ("bluesky", "/xrpc/app.bsky.feed.getPosts", 200, {"posts": []}, {},
     "Not posted: Bluesky says the post no longer exists"),
    ("reddit", "/api/comment", 200,
     {"json": {"errors": [["DELETED_LINK", "the link you are commenting on has been deleted",
                           "parent"]]}}, {},
     "Not posted: Reddit says the post no longer exists: it was deleted."),
    ("reddit", "/api/v1/access_token", 200, {"error": "invalid_grant"}, {},
     "Not posted: Reddit refused to sign in as u/acme_support (invalid_grant)"),
]  # fmt: skip


@pytest.mark.parametrize(("platform", "path", "status", "body", "headers", "said"), FAILURES)
def test_a_refusal_is_told_exactly_records_nothing_and_keeps_the_draft(
    world: World,
    make_mention: Callable[..., Mention],
    platform: str,
    path: str,
    status: int,
    body: Any,
    headers: dict[str, str],
    said: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    build = CASES[platform][0]
    mention_id, ts = world.env.alert(build(world, make_mention))
    fake = {"mastodon": world.mastodon, "bluesky": world.pds, "reddit": world.reddit}[platform]
    view = open_reply(world, mention_id, ts)
    if headers.get("X-RateLimit-Reset") == IN_FIVE_MINUTES:
        reset = datetime.now(UTC) + timedelta(minutes=5, seconds=20)
        headers = {"X-RateLimit-Reset": reset.isoformat()}
    fake.fail_next(path, status, body, **headers)
    text = "Sorry, my own words — please DM us."
    submit(world, view["id"], mention_id, text, "public")
    if said is None:  # an expired session is renewed and the reply goes out
        assert world.env.store.replies(mention_id)[0].public
        assert world.pds.calls("/xrpc/com.atproto.server.refreshSession")
        return
    [shown] = world.env.fake.calls_to("views.update")
    again = shown.body["view"]
    assert said in block(again, "mention-reply-error")["text"]["text"]
    assert block(again, "mention-reply-input")["element"]["initial_value"] == text
    assert world.env.store.replies(mention_id) == []
    stored = world.env.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.ALERTED
    assert [t.to_status for t in world.env.store.history(mention_id)] == [Status.ALERTED]
    for secret in SECRETS:
        assert secret not in caplog.text
    # The same dialog tries again once the platform answers, and the reply goes out.
    submit(world, view["id"], mention_id, text, "public")
    [reply] = world.env.store.replies(mention_id)
    assert reply.public and reply.text == text


def test_too_long_for_the_platform_keeps_the_dialog_open_and_sends_nothing(
    world: World, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = world.env.alert(bluesky_mention(world, make_mention))
    view = open_reply(world, mention_id, ts)
    answer = submit(world, view["id"], mention_id, "ä" * 310, "public")
    assert answer == {
        "response_action": "errors",
        "errors": {
            "mention-reply-input": "Bluesky allows 300 characters; this has 310 (10 too many)."
        },
    }
    assert world.pds.calls("/xrpc/com.atproto.repo.createRecord") == []
    assert world.env.store.replies(mention_id) == []


def test_posting_publicly_is_an_explicit_choice(
    world: World, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = world.env.alert(mastodon_mention(world, make_mention))
    view = open_reply(world, mention_id, ts)
    answer = submit(world, view["id"], mention_id, "Sorry!", None)
    assert answer["errors"] == {"mention-reply-where": "Choose where the answer goes."}
    submit(world, view["id"], mention_id, "Sorry!", "thread")
    assert world.mastodon.calls("/api/v1/statuses", "POST") == []
    [reply] = world.env.store.replies(mention_id)
    assert not reply.public


def test_only_the_brands_public_repliers_are_offered_or_allowed_to_post(
    fake_slack: FakeSlack,  # noqa: F811
    tmp_path: Path,
    clock: Clock,
    make_mention: Callable[..., Mention],
) -> None:
    for world in make_world(fake_slack, tmp_path, clock, repliers=[BOB]):
        mention_id, ts = world.env.alert(mastodon_mention(world, make_mention))
        view = open_reply(world, mention_id, ts, user=ALICE)
        assert not [b for b in view["blocks"] if b.get("block_id") == "mention-reply-where"]
        assert "only the people named in public_repliers" in json.dumps(view)
        answer = submit(world, view["id"], mention_id, "forged", "public", user=ALICE)
        assert answer["errors"] == {"mention-reply-where": "You may not post publicly for Acme."}
        assert world.mastodon.calls("/api/v1/statuses", "POST") == []
        bobs = open_reply(world, mention_id, ts, user=BOB)
        assert block(bobs, "mention-reply-where")


def test_a_source_without_a_write_api_offers_a_note_and_open_to_answer(
    world: World, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts = world.env.alert(
        make_mention(source="acme-hn", url="https://news.ycombinator.com/item?id=1")
    )
    view = open_reply(world, mention_id, ts)
    context = block(view, "mention-reply-context")["elements"][0]["text"]
    assert context == (
        "Note in this thread only: Hacker News has no API for replies. "
        "<https://news.ycombinator.com/item?id=1|Open to answer on acme-hn>"
    )
    assert view["submit"]["text"] == "Post note"
    answer = submit(world, view["id"], mention_id, "Sorry!", "public")
    assert answer["errors"] == {
        "mention-reply-where": "Cannot post publicly: Hacker News has no API for replies."
    }


def post_on_reddit(world: World, make_mention: Callable[..., Mention]) -> tuple[int, str, Reply]:
    """A Reddit mention alerted and answered publicly through the dialog."""
    mention_id, ts = world.env.alert(reddit_mention(world, make_mention))
    view = open_reply(world, mention_id, ts)
    submit(world, view["id"], mention_id, "Sorry!", "public")
    [reply] = world.env.store.replies(mention_id)
    return mention_id, ts, reply


def test_delete_after_the_window_is_refused_with_where_to_do_it(
    world: World, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts, reply = post_on_reddit(world, make_mention)
    world.clock.advance(301)
    click(world, "mention-delete-reply", f"{mention_id}:{reply.id}", ts)
    assert world.reddit.calls("/api/del") == []
    [told] = world.env.fake.calls_to("chat.postEphemeral")
    assert "The 5 minutes to delete it from here have passed" in told.body["text"]
    assert reply.link in told.body["text"]
    assert "mention-delete-reply" not in buttons(last_alert(world, ts)), "redrawn without it"


def test_someone_else_cannot_delete_a_reply_they_did_not_post(
    world: World, make_mention: Callable[..., Mention]
) -> None:
    mention_id, ts, reply = post_on_reddit(world, make_mention)
    click(world, "mention-delete-reply", f"{mention_id}:{reply.id}", ts, user=BOB)
    assert world.reddit.calls("/api/del") == []
    assert world.env.store.replies(mention_id)[0].deleted_at is None


def test_a_reply_that_cannot_be_recorded_is_deleted_again_so_nothing_is_half_done(
    world: World, make_mention: Callable[..., Mention], tmp_path: Path
) -> None:
    mention_id, ts = world.env.alert(mastodon_mention(world, make_mention))
    view = open_reply(world, mention_id, ts)
    # The database loses the replies table between the post and its record (a broken
    # migration, a restore gone wrong): the post must not stay up unrecorded.
    with sqlite3.connect(tmp_path / "public.db") as db:
        db.execute("ALTER TABLE replies RENAME TO replies_away")
    submit(world, view["id"], mention_id, "Sorry!", "public")
    [posted] = [s for s in world.mastodon.requests if s.method == "POST"]
    [deleted] = [s for s in world.mastodon.requests if s.method == "DELETE"]
    [status] = world.mastodon.idempotent.values()  # the one that was posted
    assert deleted.path == f"/api/v1/statuses/{status['id']}"
    assert [s for s in world.mastodon.statuses.values() if s.get("content")] == []
    [shown] = world.env.fake.calls_to("views.update")
    assert "the reply could not be recorded, so it was deleted again" in json.dumps(shown.body)
    with sqlite3.connect(tmp_path / "public.db") as db:
        db.execute("ALTER TABLE replies_away RENAME TO replies")
    assert world.env.store.replies(mention_id) == []
    stored = world.env.store.get_mention(mention_id)
    assert stored is not None and stored.status == Status.ALERTED
    assert posted.json["status"] == "Sorry!"

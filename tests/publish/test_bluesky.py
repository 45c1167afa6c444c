"""Bluesky: the session made and refreshed through the AT Protocol's server endpoints, the
reply record (reply.root and reply.parent strong refs, mention and link facets on UTF-8 byte
offsets), each refusal, delete, check."""

from __future__ import annotations

import pytest

from bot.publish.base import PublishError, Reason, Target
from bot.publish.bluesky import BlueskyPublisher, facets
from tests.fakes.social import bluesky as fake
from tests.fakes.social.bluesky import FakePds

SANNE = "did:plc:sanne00000000000000000"
POST_URI = f"at://{SANNE}/app.bsky.feed.post/3lbqaaaaaaa2x"


def target(uri: str = POST_URI) -> Target:
    return Target(uri, "https://bsky.app/profile/x/post/y", SANNE, lang="nl")


def test_a_reply_to_a_top_level_post_has_it_as_root_and_parent_and_a_mention_facet(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    cid = pds.add_post(POST_URI, handle="sanne.bsky.social", text="Acme kwijt!")
    text = "Hé @sanne.bsky.social, sorry! Zie https://acme.example/help."
    posted = bluesky_client.post_reply(target(), text)
    [session] = pds.calls("/xrpc/com.atproto.server.createSession")
    assert session.json == {"identifier": fake.HANDLE, "password": fake.APP_PASSWORD}
    [get] = pds.calls("/xrpc/app.bsky.feed.getPosts")
    assert get.query == {"uris": POST_URI}
    [create] = pds.calls("/xrpc/com.atproto.repo.createRecord")
    assert create.headers["authorization"] == "Bearer access-2"
    body = create.json
    assert (body["repo"], body["collection"]) == (fake.DID, "app.bsky.feed.post")
    record = body["record"]
    ref = {"uri": POST_URI, "cid": cid}
    assert record["reply"] == {"root": ref, "parent": ref}
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == text
    assert record["createdAt"] == "2026-11-24T09:00:00Z"
    assert record["langs"] == ["nl"]
    raw = text.encode()
    mention_start = len("Hé ".encode())  # é is two bytes: offsets are bytes, not characters
    assert record["facets"] == [
        {
            "index": {"byteStart": mention_start, "byteEnd": mention_start + 18},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": SANNE}],
        },
        {
            "index": {"byteStart": raw.index(b"https"), "byteEnd": raw.index(b"/help") + 5},
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example/help"}
            ],
        },
    ]
    assert raw[mention_start : mention_start + 18] == b"@sanne.bsky.social"
    rkey = posted.remote_id.rsplit("/", 1)[-1]
    assert posted.url == f"https://bsky.app/profile/{fake.HANDLE}/post/{rkey}"


def test_a_reply_to_a_reply_keeps_the_threads_root(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    root_uri = "at://did:plc:someone000000000000000/app.bsky.feed.post/3lbqroot00000"
    root_cid = pds.add_post(root_uri, handle="someone.bsky.social")
    parent_cid = pds.add_post(
        POST_URI, handle="sanne.bsky.social",
        reply={"root": {"uri": root_uri, "cid": root_cid},
               "parent": {"uri": root_uri, "cid": root_cid}},
    )  # fmt: skip
    bluesky_client.post_reply(target(), "Sorry!")
    [create] = pds.calls("/xrpc/com.atproto.repo.createRecord")
    assert create.json["record"]["reply"] == {
        "root": {"uri": root_uri, "cid": root_cid},
        "parent": {"uri": POST_URI, "cid": parent_cid},
    }
    assert "facets" not in create.json["record"]


def test_an_expired_access_token_is_refreshed_and_an_expired_refresh_signs_in_again(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    pds.add_post(POST_URI, handle="sanne.bsky.social")
    bluesky_client.post_reply(target(), "one")
    pds.expire_access()
    bluesky_client.post_reply(target(), "two")
    [refresh] = pds.calls("/xrpc/com.atproto.server.refreshSession")
    assert refresh.headers["authorization"] == "Bearer refresh-2"
    assert refresh.raw == b""
    pds.expire_access()
    pds.expire_refresh()
    bluesky_client.post_reply(target(), "three")
    assert len(pds.calls("/xrpc/com.atproto.server.createSession")) == 2
    assert len(pds.records) == 3


def test_a_wrong_app_password_is_reported_with_the_variable_to_fix(pds: FakePds) -> None:
    client = BlueskyPublisher(pds.base_url, fake.HANDLE, "wrong-pass", password_env="ACME_BSKY")
    with pytest.raises(PublishError) as raised:
        client.post_reply(target(), "Sorry!")
    assert raised.value.reason == Reason.AUTH
    assert str(raised.value) == (
        f"Bluesky refused to sign in as @{fake.HANDLE}: Invalid identifier or password. "
        "Check the app password in ACME_BSKY"
    )


def test_a_deleted_post_is_reported_gone_and_nothing_is_created(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    with pytest.raises(PublishError) as raised:
        bluesky_client.post_reply(target(), "Sorry!")
    assert raised.value.reason == Reason.GONE
    assert pds.calls("/xrpc/com.atproto.repo.createRecord") == []


def test_too_long_is_refused_before_any_request(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    with pytest.raises(PublishError, match="Bluesky allows 300 characters; the reply has 301"):
        bluesky_client.post_reply(target(), "é" * 301)
    assert pds.requests == []


def test_a_rate_limit_says_when_to_try_again(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    pds.add_post(POST_URI, handle="sanne.bsky.social")
    pds.fail_next(
        "/xrpc/com.atproto.repo.createRecord", 429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        **{"ratelimit-reset": "4102444800"},
    )  # fmt: skip
    with pytest.raises(PublishError) as raised:
        bluesky_client.post_reply(target(), "Sorry!")
    assert raised.value.reason == Reason.RATE_LIMITED
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


def test_delete_removes_our_record(pds: FakePds, bluesky_client: BlueskyPublisher) -> None:
    pds.add_post(POST_URI, handle="sanne.bsky.social")
    posted = bluesky_client.post_reply(target(), "Sorry!")
    bluesky_client.delete(posted.remote_id)
    [delete] = pds.calls("/xrpc/com.atproto.repo.deleteRecord")
    assert delete.json == {
        "repo": fake.DID,
        "collection": "app.bsky.feed.post",
        "rkey": posted.remote_id.rsplit("/", 1)[-1],
    }
    assert pds.records == {}


def test_check_signs_in_and_refuses_an_inactive_account(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    assert bluesky_client.check().startswith(f"@{fake.HANDLE} ({fake.DID}) signed in")
    pds.active = False
    with pytest.raises(PublishError, match="cannot post"):
        bluesky_client.check()
    assert pds.records == {}


def test_the_author_is_addressed_by_handle_from_their_profile(
    pds: FakePds, bluesky_client: BlueskyPublisher
) -> None:
    pds.add_post(POST_URI, handle="sanne.bsky.social")
    assert bluesky_client.addressee(target()) == "@sanne.bsky.social"
    assert bluesky_client.addressee(target()) == "@sanne.bsky.social"
    assert len(pds.calls("/xrpc/app.bsky.actor.getProfile")) == 1


def test_facets_skip_lookalike_handles() -> None:
    found = facets("@sanne.bsky.socialite @sanne.bsky.social", {"sanne.bsky.social": SANNE})
    assert [f["index"] for f in found] == [{"byteStart": 22, "byteEnd": 40}]

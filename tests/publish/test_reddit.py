"""Reddit: a comment on the post's fullname with the brand account's bearer token (script
app password grant or refresh token), each refusal Reddit hides in json.errors, a token that
expires mid-way, delete, check."""

from __future__ import annotations

import base64

import pytest

from bot.publish.base import PublishError, Reason, Target
from bot.publish.reddit import RedditPublisher
from tests.fakes.social import reddit as fake
from tests.fakes.social.reddit import FakeReddit

PERMALINK = "/r/acme/comments/abc123/acme_lost_my_parcel/"


def target(fullname: str = "t3_abc123") -> Target:
    return Target(f"reddit:{fullname}", "https://www.reddit.com" + PERMALINK, "sanne")


def test_a_comment_goes_on_the_posts_fullname_with_the_brands_token(
    reddit: FakeReddit, reddit_client: RedditPublisher
) -> None:
    reddit.add_post("t3_abc123", PERMALINK)
    posted = reddit_client.post_reply(target(), "Sorry, **we are on it**.")
    [token] = reddit.calls("/api/v1/access_token")
    basic = base64.b64encode(f"{fake.CLIENT_ID}:{fake.CLIENT_SECRET}".encode()).decode()
    assert token.headers["authorization"] == f"Basic {basic}"
    assert token.form == {
        "grant_type": "password", "username": fake.USERNAME, "password": fake.PASSWORD,
    }  # fmt: skip
    [comment] = reddit.calls("/api/comment")
    assert comment.form == {
        "api_type": "json", "thing_id": "t3_abc123", "text": "Sorry, **we are on it**.",
    }  # fmt: skip
    assert comment.headers["authorization"] == "bearer reddit-bearer-1"
    assert comment.headers["user-agent"].startswith("mentionbot-test/")
    assert posted.remote_id.startswith("t1_")
    assert posted.url == f"https://www.reddit.com{PERMALINK}{posted.remote_id[3:]}/"


def test_a_refresh_token_signs_in_without_a_password(reddit: FakeReddit) -> None:
    reddit.add_post("t1_cmt001", "/r/acme/comments/abc123/x/cmt001/")
    client = RedditPublisher(
        fake.USERNAME, fake.CLIENT_ID, fake.CLIENT_SECRET,
        refresh_token=fake.REFRESH_TOKEN, auth_url=reddit.base_url, api_url=reddit.base_url,
    )  # fmt: skip
    client.post_reply(target("t1_cmt001"), "Thanks!")
    [token] = reddit.calls("/api/v1/access_token")
    assert token.form == {"grant_type": "refresh_token", "refresh_token": fake.REFRESH_TOKEN}
    assert reddit.calls("/api/comment")[0].form["thing_id"] == "t1_cmt001"


def test_a_token_that_expired_early_is_renewed_once(
    reddit: FakeReddit, reddit_client: RedditPublisher
) -> None:
    reddit.add_post("t3_abc123", PERMALINK)
    reddit_client.post_reply(target(), "one")
    reddit.expire_tokens()
    reddit_client.post_reply(target(), "two")
    assert len(reddit.calls("/api/v1/access_token")) == 2
    [renewed] = reddit.tokens  # the one issued after the others expired
    assert [c.headers["authorization"] for c in reddit.calls("/api/comment")] == [
        "bearer reddit-bearer-1", "bearer reddit-bearer-1", f"bearer {renewed}",
    ]  # fmt: skip
    assert len(reddit.comments) == 2


@pytest.mark.parametrize(
    ("flags", "reason", "words"),
    [
        ({"deleted": True}, Reason.GONE, "Reddit says the post no longer exists: it was deleted"),
        ({"locked": True}, Reason.REFUSED, "Reddit refused: the thread is locked"),
    ],
)
def test_refusals_in_json_errors_say_why(
    reddit: FakeReddit,
    reddit_client: RedditPublisher,
    flags: dict[str, bool],
    reason: Reason,
    words: str,
) -> None:
    reddit.add_post("t3_abc123", PERMALINK, **flags)
    with pytest.raises(PublishError) as raised:
        reddit_client.post_reply(target(), "Sorry!")
    assert (raised.value.reason, str(raised.value)) == (reason, words)
    assert reddit.comments == {}


def test_a_rate_limit_in_json_errors_says_when(
    reddit: FakeReddit, reddit_client: RedditPublisher
) -> None:
    reddit.add_post("t3_abc123", PERMALINK)
    reddit.fail_next("/api/comment", 200, {"json": {"errors": [[
        "RATELIMIT",
        "Looks like you've been doing that a lot. Take a break for 3 minutes before trying again.",
        "ratelimit",
    ]]}})  # fmt: skip
    with pytest.raises(PublishError) as raised:
        reddit_client.post_reply(target(), "Sorry!")
    assert raised.value.reason == Reason.RATE_LIMITED and raised.value.retry_after == 180
    assert "try again in 3 minutes" in str(raised.value)


def test_too_long_is_reported_as_reddit_says(
    reddit: FakeReddit, reddit_client: RedditPublisher
) -> None:
    reddit.add_post("t3_abc123", PERMALINK)
    with pytest.raises(PublishError) as raised:
        reddit_client.post_reply(target(), "x" * 10_001)
    assert raised.value.reason == Reason.TOO_LONG
    assert "this is too long (max: 10000)" in str(raised.value)


def test_a_wrong_password_names_the_variables_to_check(reddit: FakeReddit) -> None:
    client = RedditPublisher(
        fake.USERNAME, fake.CLIENT_ID, fake.CLIENT_SECRET, password="nope",
        secret_names="ACME_REDDIT_PASSWORD", auth_url=reddit.base_url, api_url=reddit.base_url,
    )  # fmt: skip
    with pytest.raises(PublishError) as raised:
        client.post_reply(target(), "Sorry!")
    assert raised.value.reason == Reason.AUTH
    assert str(raised.value) == (
        "Reddit refused to sign in as u/acme_support (invalid_grant); check ACME_REDDIT_PASSWORD"
    )
    assert reddit.calls("/api/comment") == []


def test_delete_and_check(reddit: FakeReddit, reddit_client: RedditPublisher) -> None:
    reddit.add_post("t3_abc123", PERMALINK)
    posted = reddit_client.post_reply(target(), "Sorry!")
    reddit_client.delete(posted.remote_id)
    [delete] = reddit.calls("/api/del")
    assert delete.form == {"id": posted.remote_id} and reddit.comments == {}
    assert reddit_client.check() == "u/acme_support signed in; may comment"
    reddit.scope = "identity read"
    with pytest.raises(PublishError, match="lacks the submit scope"):
        reddit_client.check()

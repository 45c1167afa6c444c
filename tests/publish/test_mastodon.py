"""Mastodon: the exact requests a public reply sends (in_reply_to_id of the status on the
brand's instance, the bearer token, an idempotency key), how each refusal is reported, the
limit read from the instance, delete and the check that posts nothing."""

from __future__ import annotations

import pytest

from bot.publish.base import PublishError, Reason, Target
from bot.publish.mastodon import MastodonPublisher
from tests.fakes.social.mastodon import TOKEN, FakeMastodon

REMOTE_URI = "https://mastodon.social/users/sanne/statuses/113560000000000001"


def local_target(mastodon: FakeMastodon, status_id: str) -> Target:
    url = f"{mastodon.base_url}/@sanne/{status_id}"
    return Target(external_id=url, url=url, author="sanne", lang="nl")


def remote_target() -> Target:
    return Target(
        external_id=REMOTE_URI,
        url="https://mastodon.social/@sanne/113560000000000001",
        author="sanne",
        lang="nl",
        source_instance="https://mastodon.social",
    )


def test_a_reply_to_a_status_on_the_brands_instance_uses_its_id_and_in_reply_to_id(
    mastodon: FakeMastodon, mastodon_client: MastodonPublisher
) -> None:
    status_id = mastodon.add_status(uri="local", acct="sanne", local_id="113560000000000042")
    posted = mastodon_client.post_reply(local_target(mastodon, status_id), "@sanne Sorry!")
    [post] = mastodon.calls("/api/v1/statuses", "POST")
    assert post.json == {
        "status": "@sanne Sorry!",
        "in_reply_to_id": "113560000000000042",
        "visibility": "public",
        "language": "nl",
    }
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert len(post.headers["idempotency-key"]) == 40
    assert post.headers["user-agent"].startswith("mentionbot-test/")
    assert mastodon.calls("/api/v2/search") == [], "the id was in the URL"
    assert posted.url == f"https://127.0.0.1/@acme/{posted.remote_id}"
    assert mastodon.statuses[posted.remote_id]["in_reply_to_id"] == status_id


def test_a_remote_status_is_resolved_on_the_brands_instance_by_its_uri(
    mastodon: FakeMastodon, mastodon_client: MastodonPublisher
) -> None:
    local_id = mastodon.add_status(uri=REMOTE_URI, acct="sanne@mastodon.social")
    mastodon_client.post_reply(remote_target(), "Hoi!")
    [search] = mastodon.calls("/api/v2/search")
    assert search.query == {"q": REMOTE_URI, "type": "statuses", "resolve": "true", "limit": "1"}
    assert search.headers["authorization"] == f"Bearer {TOKEN}"
    [post] = mastodon.calls("/api/v1/statuses", "POST")
    assert post.json["in_reply_to_id"] == local_id


def test_the_same_reply_sent_twice_is_posted_once(
    mastodon: FakeMastodon, mastodon_client: MastodonPublisher
) -> None:
    mastodon.add_status(uri=REMOTE_URI, acct="sanne@mastodon.social")
    first = mastodon_client.post_reply(remote_target(), "Hoi!")
    again = mastodon_client.post_reply(remote_target(), "Hoi!")
    assert first == again
    assert len([s for s in mastodon.statuses.values() if s.get("content")]) == 1


@pytest.mark.parametrize(
    ("status", "body", "headers", "reason", "words"),
    [
        (429, {"error": "Too many requests"}, {"X-RateLimit-Reset": "2999-01-01T00:00:00Z"},
         Reason.RATE_LIMITED, "rate limit"),
        (401, {"error": "The access token is invalid"}, {}, Reason.AUTH,
         "refused the brand's access token (ACME_MASTODON_TOKEN): The access token is invalid"),
        (404, {"error": "The post you are trying to reply to does not appear to exist."}, {},
         Reason.GONE, "no longer exists"),
        (422, {"error": "Validation failed: Text character limit of 500 exceeded"}, {},
         Reason.TOO_LONG, "too long: Validation failed: Text character limit of 500 exceeded"),
        (503, None, {}, Reason.UNREACHABLE, "nothing was posted"),
    ],
)  # fmt: skip
def test_each_refusal_says_why(
    mastodon: FakeMastodon,
    mastodon_client: MastodonPublisher,
    status: int,
    body: object,
    headers: dict[str, str],
    reason: Reason,
    words: str,
) -> None:
    mastodon.add_status(uri=REMOTE_URI, acct="sanne@mastodon.social")
    mastodon.fail_next("/api/v1/statuses", status, body, **headers)
    with pytest.raises(PublishError) as raised:
        mastodon_client.post_reply(remote_target(), "Hoi!")
    assert raised.value.reason == reason
    assert words in str(raised.value)
    assert [s for s in mastodon.statuses.values() if s.get("content")] == []


def test_a_post_deleted_before_we_answer_is_reported_gone(
    mastodon: FakeMastodon, mastodon_client: MastodonPublisher
) -> None:
    with pytest.raises(PublishError) as raised:  # the instance cannot resolve it any more
        mastodon_client.post_reply(remote_target(), "Hoi!")
    assert raised.value.reason == Reason.GONE
    assert mastodon.calls("/api/v1/statuses", "POST") == []


def test_the_limit_is_read_from_the_instance_and_defaults_to_500(
    mastodon: FakeMastodon,
) -> None:
    mastodon.max_characters = 1000
    client = MastodonPublisher(mastodon.base_url, TOKEN, timeout=5)
    assert client.limit() == 1000
    assert client.length("@sanne@mastodon.social https://example.com/a " + "x" * 200) == 231
    mastodon.fail_next("/api/v2/instance", 500)
    fresh = MastodonPublisher(mastodon.base_url, TOKEN, timeout=5)
    assert fresh.limit() == 500


def test_delete_removes_the_status_and_a_missing_one_counts_as_deleted(
    mastodon: FakeMastodon, mastodon_client: MastodonPublisher
) -> None:
    mastodon.add_status(uri=REMOTE_URI, acct="sanne@mastodon.social")
    posted = mastodon_client.post_reply(remote_target(), "Hoi!")
    mastodon_client.delete(posted.remote_id)
    assert posted.remote_id not in mastodon.statuses
    mastodon_client.delete(posted.remote_id)  # again: already gone, fine
    deletes = mastodon.calls(f"/api/v1/statuses/{posted.remote_id}", "DELETE")
    assert len(deletes) == 2 and deletes[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_check_says_who_and_whether_it_may_post_without_posting(
    mastodon: FakeMastodon, mastodon_client: MastodonPublisher
) -> None:
    assert mastodon_client.check() == "@acme@127.0.0.1 may post; replies up to 500 characters"
    assert mastodon.statuses == {}
    mastodon.scopes = {"read"}
    with pytest.raises(PublishError, match="needs the write:statuses scope") as raised:
        mastodon_client.check()
    assert raised.value.reason == Reason.AUTH


def test_the_author_is_addressed_with_their_full_handle(
    mastodon_client: MastodonPublisher,
) -> None:
    assert mastodon_client.addressee(remote_target()) == "@sanne@mastodon.social"
    elsewhere = Target("u", "https://mastodon.social/@x/1", "bob@fosstodon.org")
    assert mastodon_client.addressee(elsewhere) == "@bob@fosstodon.org"

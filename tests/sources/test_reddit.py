"""The Reddit source against a fake Reddit on 127.0.0.1 (recorded-format token, Listing and
search.rss): OAuth token handling, fields, cursor and paging, rate limits, bad answers, the RSS
fallback giving the same ids, and a round through the real poller."""

from __future__ import annotations

import base64
import copy
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.analysis import get_scorer
from bot.config import Settings, SourceConfig, load_settings, search_query
from bot.http import HttpFetcher
from bot.matching import TermSet
from bot.models import Route
from bot.pipeline import BrandRule, Pipeline
from bot.poller import Job, Poller
from bot.sources.base import FeedState, SourceError
from bot.sources.reddit import RedditSource, build
from bot.sources.reddit_posts import fullname_of
from bot.store import Store
from bot.store.base import MentionQuery
from tests.conftest import Clock
from tests.fakes.platform_api import CLIENT_ID, CLIENT_SECRET, PlatformApi

T0 = 1795510800.0  # 2026-11-24 09:00 UTC; the fixture's posts precede it
QUERY = search_query(["acme"])
UA = "server:mentionbot-tests:0.1 (by /u/mentionbot)"
FIXTURE_IDS = ["reddit:t3_1h9x2aa", "reddit:t3_1h9x3bb", "reddit:t3_1h9x4cc"]  # oldest first


@pytest.fixture
def platform_api() -> Iterator[PlatformApi]:
    api = PlatformApi().start()
    yield api
    api.stop()


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    f = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"], user_agent=UA)
    yield f
    f.close()


class Now:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def settings_for(api: PlatformApi, *, oauth: bool = True, secret: str = CLIENT_SECRET) -> Settings:
    credentials = {"reddit_client_id": CLIENT_ID, "reddit_client_secret": secret} if oauth else {}
    return load_settings(
        reddit_url=api.base_url, reddit_auth_url=api.base_url, reddit_api_url=api.base_url,
        user_agent=UA, allow_private_hosts=["127.0.0.1"], **credentials,
    )  # fmt: skip


def source_for(api: PlatformApi, fetcher: HttpFetcher, *, oauth: bool = True,
               now: Now | None = None, secret: str = CLIENT_SECRET) -> RedditSource:  # fmt: skip
    config = SourceConfig(name="acme-reddit", kind="reddit", query=QUERY)
    source = build(config, settings_for(api, oauth=oauth, secret=secret), fetcher)
    source.clock, source.sleep = now or Now(), lambda _: None
    return source


def new_post(n: int, at: float) -> dict[str, Any]:
    post = copy.deepcopy(PlatformApi().posts[0])  # the fixture's self post, renamed
    post["data"].update(id=f"new{n}", name=f"t3_new{n}", created_utc=at, created=at,
                        title=f"Acme question number {n}", selftext=f"acme body {n}",
                        permalink=f"/r/sysadmin/comments/new{n}/acme_question/")  # fmt: skip
    return post


def test_oauth_posts_become_entries_with_fullname_ids_permalinks_and_text(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    result = source_for(platform_api, fetcher).fetch(FeedState())
    assert [e.external_id for e in result.entries] == FIXTURE_IDS
    self_post, link_post, question = result.entries
    assert self_post.url == ("https://www.reddit.com/r/devops/comments/1h9x2aa/"
                             "acme_cloud_outage_took_our_whole_stack_down/")  # fmt: skip
    assert self_post.title == "Acme Cloud outage took our whole stack down"
    assert self_post.text == "Third time this month. Status page said **all green** the whole time."
    assert self_post.author == "paged_at_3am"
    assert self_post.published_at == datetime.fromtimestamp(T0 - 3000, UTC)
    assert link_post.text == "https://blog.acme-cloud.example/sdk-v2"  # a link post: its target
    assert (
        question.text
        == "Ticket open since Monday about failed backups & still no answer. Anyone else?"
    )
    assert result.state.cursor == str(int(T0 - 300))


def test_the_token_is_asked_for_with_basic_auth_and_sent_as_bearer_with_our_user_agent(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source = source_for(platform_api, fetcher)
    source.fetch(FeedState())
    [token_request] = platform_api.requests_to("/api/v1/access_token")
    pair = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_request.method == "POST" and token_request.body == "grant_type=client_credentials"
    assert token_request.headers["authorization"] == f"Basic {pair}"
    [search] = platform_api.requests_to("/search")
    assert (
        search.headers["authorization"] == f"bearer {platform_api.token_answer['access_token']}-1"
    )
    assert search.headers["user-agent"] == UA
    assert {k: search.query[k] for k in ("q", "sort", "limit", "type")} == {
        "q": "acme", "sort": "new", "limit": "100", "type": "link"}  # fmt: skip


def test_the_token_is_kept_until_it_nearly_expires(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    now = Now()
    source = source_for(platform_api, fetcher, now=now)
    state = source.fetch(FeedState()).state
    now.t += 86400 - 120  # two minutes before expiry: still good
    state = source.fetch(state).state
    assert platform_api.tokens_issued == 1
    now.t += 90  # within the last minute: renewed before use
    source.fetch(state)
    assert platform_api.tokens_issued == 2


def test_a_401_gets_a_new_token_once_and_the_poll_succeeds(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source = source_for(platform_api, fetcher)
    state = source.fetch(FeedState()).state
    platform_api.expire_tokens()  # Reddit revoked it early
    platform_api.add_post(new_post(1, T0 + 10))
    result = source.fetch(state)
    assert [e.external_id for e in result.entries] == ["reddit:t3_new1"]
    assert platform_api.tokens_issued == 2
    assert len(platform_api.requests_to("/search")) == 3  # first poll, the refused try, the retry


def test_a_fresh_token_refused_again_is_a_permanent_error_not_a_loop(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail("/search", 401)
    platform_api.fail("/search", 401)
    with pytest.raises(SourceError, match="fresh OAuth token") as caught:
        source_for(platform_api, fetcher).fetch(FeedState())
    assert caught.value.permanent
    assert platform_api.tokens_issued == 2 and len(platform_api.requests_to("/search")) == 2


def test_wrong_credentials_are_a_permanent_error_that_names_the_settings(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    with pytest.raises(SourceError, match="REDDIT_CLIENT_ID/SECRET") as caught:
        source_for(platform_api, fetcher, secret="wrong").fetch(FeedState())
    assert caught.value.permanent and platform_api.requests_to("/search") == []


def test_the_cursor_advances_and_pages_are_read_back_to_it_without_repeats(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source = source_for(platform_api, fetcher)
    state = source.fetch(FeedState()).state
    for n in range(150):
        platform_api.add_post(new_post(n, T0 + n))
    result = source.fetch(state)
    afters = [r.query.get("after", "") for r in platform_api.requests_to("/search")[1:]]
    assert afters == ["", "t3_new50"]  # page two starts after page one's last (oldest) post
    ids = [e.external_id for e in result.entries]
    assert len(ids) == len(set(ids)) == 150 and ids[0] == "reddit:t3_new0"
    assert result.state.cursor == str(int(T0 + 149))
    assert source.fetch(result.state).entries == []  # nothing twice


def test_a_spent_rate_limit_window_sets_min_wait(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.rate_headers = {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0.0",
                                 "x-ratelimit-reset": "42"}  # fmt: skip
    assert source_for(platform_api, fetcher).fetch(FeedState()).min_wait == 42.0
    platform_api.rate_headers["x-ratelimit-remaining"] = "57.0"
    assert source_for(platform_api, fetcher).fetch(FeedState()).min_wait is None


def test_a_429_with_retry_after_ends_the_poll_with_it(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail("/search", 429, {"Retry-After": "600"})
    with pytest.raises(SourceError) as caught:
        source_for(platform_api, fetcher).fetch(FeedState())
    assert not caught.value.permanent and caught.value.retry_after == 600  # type: ignore[attr-defined]
    assert len(platform_api.requests_to("/search")) == 1


def test_a_429_without_retry_after_waits_for_the_rate_window(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    for _ in range(3):
        platform_api.fail(
            "/search", 429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "300"}
        )
    with pytest.raises(SourceError) as caught:
        source_for(platform_api, fetcher).fetch(FeedState())
    assert caught.value.retry_after == 300  # type: ignore[attr-defined]


def test_an_answer_that_is_not_json_is_a_transient_error_and_the_next_poll_works(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail("/search", 200, {"Content-Type": "text/html"}, b"<html>we took a nap</html>")
    source = source_for(platform_api, fetcher)
    with pytest.raises(SourceError, match="not JSON") as caught:
        source.fetch(FeedState())
    assert not caught.value.permanent
    assert len(source.fetch(FeedState()).entries) == 3


def test_a_redirect_from_the_api_is_refused_so_the_token_goes_nowhere_else(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail("/search", 302, {"Location": "https://elsewhere.example/steal"})
    with pytest.raises(SourceError, match="redirect") as caught:
        source_for(platform_api, fetcher).fetch(FeedState())
    assert caught.value.permanent and len(platform_api.requests_to("/search")) == 1


def test_an_answer_over_the_size_cap_is_refused_clearly(platform_api: PlatformApi) -> None:
    small = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"], max_bytes=2000)
    try:
        with pytest.raises(SourceError, match="byte cap"):
            source_for(platform_api, small).fetch(FeedState())
    finally:
        small.close()


def test_the_rss_fallback_gives_the_same_posts_with_the_same_ids(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    oauth = source_for(platform_api, fetcher).fetch(FeedState()).entries
    rss = source_for(platform_api, fetcher, oauth=False).fetch(FeedState())
    assert [e.external_id for e in rss.entries] == [e.external_id for e in oauth] == FIXTURE_IDS
    for from_rss, from_api in zip(rss.entries, oauth, strict=True):
        assert (from_rss.url, from_rss.title, from_rss.author, from_rss.published_at) == (
            from_api.url, from_api.title, from_api.author, from_api.published_at)  # fmt: skip
    assert rss.entries[2].text == ("Ticket open since Monday about failed backups & still no "
                                   "answer. Anyone else?")  # the feed's footer is cut  # fmt: skip
    [request] = platform_api.requests_to("/search.rss")
    assert request.query == {"q": "acme", "sort": "new"} and request.headers["user-agent"] == UA
    assert "authorization" not in request.headers


def test_the_rss_fallback_polls_conditionally(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source = source_for(platform_api, fetcher, oauth=False)
    first = source.fetch(FeedState())
    assert first.state.etag == platform_api.rss_etag
    second = source.fetch(first.state)
    assert second.not_modified and second.entries == []
    assert platform_api.requests_to("/search.rss")[1].headers["if-none-match"] == '"rss-1"'


def test_rss_entry_ids_are_derived_from_links_when_the_id_is_not_a_fullname() -> None:
    link = "https://www.reddit.com/r/devops/comments/1h9x2aa/acme_cloud_outage/"
    assert fullname_of("t3_1h9x2aa", "") == "t3_1h9x2aa"
    assert fullname_of("https://example/x", link) == "t3_1h9x2aa"
    assert fullname_of("", link + "kz9q1r/") == "t1_kz9q1r"
    assert fullname_of("tag:something", "https://example.com/") == ""


def test_check_says_what_each_mode_found(platform_api: PlatformApi, fetcher: HttpFetcher) -> None:
    assert source_for(platform_api, fetcher).check() == (
        "reddit oauth ok (token expires in 86400 s), 3 posts")  # fmt: skip
    assert source_for(platform_api, fetcher, oauth=False).check() == (
        "reddit search.rss ok (no REDDIT_CLIENT_ID/SECRET), 3 posts")  # fmt: skip


def test_limits_follow_reddits_published_figures(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    limits = source_for(platform_api, fetcher).limits
    assert (limits.min_interval, limits.default_interval, limits.requests_per_minute) == (
        60.0, 120.0, 100.0)  # fmt: skip
    assert limits.needs == ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET")


def test_a_poller_round_in_either_mode_stores_each_post_once(
    sqlite_store: Store, platform_api: PlatformApi, fetcher: HttpFetcher, clock: Clock
) -> None:
    rule = BrandRule(
        "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.05
    )
    pipeline = Pipeline(sqlite_store, get_scorer("lexicon"), clock)
    now = Now()
    rss_source = source_for(platform_api, fetcher, oauth=False, now=now)
    poller = Poller(sqlite_store, pipeline, [Job(rule, rss_source, interval=120)], clock,
                    rng=random.Random(1), holder="r1")  # fmt: skip
    try:
        assert poller.poll_once().pipeline.stored == 3
        # Credentials are added and the bot restarted: from the saved cursor (less the
        # overlap) the API finds one post stored already from the feed, and a new one.
        platform_api.add_post(new_post(1, T0 + 5))
        clock.advance(600)
        now.t += 600
        poller.jobs[0] = Job(rule, source_for(platform_api, fetcher, now=now), interval=120)
        report = poller.poll_once()
        assert (report.failed, report.pipeline.entries, report.pipeline.stored) == (0, 2, 1)
        stored = sqlite_store.find_mentions(MentionQuery(source="acme-reddit", limit=100))
        assert sorted(m.external_id for m in stored) == sorted([*FIXTURE_IDS, "reddit:t3_new1"])
        assert sqlite_store.feed_state("acme-reddit").cursor == str(int(T0 + 5))
    finally:
        poller.close()


@pytest.mark.parametrize("oauth", [True, False], ids=["oauth", "public"])
def test_reach_is_refreshed_for_many_posts_in_one_info_request(
    platform_api: PlatformApi, fetcher: HttpFetcher, oauth: bool
) -> None:
    source = source_for(platform_api, fetcher, oauth=oauth)
    names = [p["data"]["name"] for p in platform_api.posts]
    first = platform_api.posts[0]["data"]
    first["score"], first["num_comments"] = 250, 40  # the post took off since it was found
    asked = [f"reddit:{n}" for n in names] + ["reddit:t3_gone00", "hn:123", "reddit:bad id"]
    found = source.reach(asked)
    assert found[f"reddit:{first['name']}"] == 290
    assert set(found) == {f"reddit:{n}" for n in names}  # the gone and the foreign are left out
    path = "/api/info" if oauth else "/api/info.json"
    [request] = platform_api.requests_to(path)
    assert request.query["id"].split(",") == [*names, "t3_gone00"]
    assert ("authorization" in request.headers) is oauth  # the token only on the OAuth host


def test_reach_with_a_stale_token_gets_a_new_one(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source = source_for(platform_api, fetcher)
    source.fetch(FeedState())
    platform_api.expire_tokens()
    name = platform_api.posts[0]["data"]["name"]
    assert f"reddit:{name}" in source.reach([f"reddit:{name}"])
    assert platform_api.tokens_issued == 2

"""The Hacker News source against the fake Algolia HN Search API on 127.0.0.1 (recorded-format
hits): fields, the cursor, paging, retries, bad answers, and a round through the real poller."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.analysis import get_scorer
from bot.config import SourceConfig, load_settings, search_query
from bot.http import HttpFetcher
from bot.matching import TermSet
from bot.models import Route
from bot.pipeline import BrandRule, Pipeline
from bot.poller import Job, Poller
from bot.sources.base import FeedState, SourceError
from bot.sources.hackernews import HackerNewsSource, build, phrases
from bot.store import Store
from bot.store.base import MentionQuery
from tests.conftest import Clock
from tests.fakes.platform_api import PlatformApi

T0 = 1795510800  # 2026-11-24 09:00 UTC, the conftest Clock's start; the fixture's hits precede it
QUERY = search_query(["acme", "acme cloud"])  # 'acme OR "acme cloud"', as the watch list makes
SEARCH = "/api/v1/search_by_date"


@pytest.fixture
def platform_api() -> Iterator[PlatformApi]:
    api = PlatformApi().start()
    yield api
    api.stop()


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    f = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"])
    yield f
    f.close()


class Now:
    def __init__(self) -> None:
        self.t = float(T0)

    def __call__(self) -> float:
        return self.t


def source_for(api: PlatformApi, fetcher: HttpFetcher, now: Now | None = None, **kw: object) -> (
    HackerNewsSource
):  # fmt: skip
    sleeps: list[float] = []
    source = HackerNewsSource("hn", api.base_url + "/api/v1/", QUERY, fetcher,
                              clock=now or Now(), sleep=sleeps.append, **kw)  # type: ignore[arg-type]  # fmt: skip
    source.sleeps = sleeps  # type: ignore[attr-defined]
    return source


def comment(object_id: int, at: int, text: str) -> dict[str, object]:
    return {"_tags": ["comment", "author_zed", "story_42190001"], "author": "zed",
            "comment_text": text, "created_at_i": at, "objectID": str(object_id),
            "parent_id": 42190001, "story_id": 42190001,
            "story_title": "Acme Cloud is down again"}  # fmt: skip


def test_the_query_is_one_search_per_phrase() -> None:
    assert phrases(QUERY) == ["acme", '"acme cloud"']
    assert phrases('acme OR  OR acme OR "acme cloud"') == ["acme", '"acme cloud"']


def test_hits_become_entries_with_hn_ids_links_titles_and_plain_text(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    result = source_for(platform_api, fetcher).fetch(FeedState())
    by_id = {e.external_id: e for e in result.entries}
    assert list(by_id) == ["hn:42190001", "hn:42190002", "hn:42190003", "hn:42190006",
                           "hn:42190004"]  # oldest first; 42190005 is two hours old  # fmt: skip
    link_story = by_id["hn:42190001"]
    assert link_story.url == "https://news.ycombinator.com/item?id=42190001"
    assert (link_story.title, link_story.text) == ("Acme Cloud is down again",) * 2
    assert link_story.author == "dana_ops"
    assert link_story.published_at == datetime.fromtimestamp(T0 - 3000, UTC)
    ask = by_id["hn:42190003"]
    assert ask.text == ("Ask HN: Is Acme Cloud support always this slow?\nOpened a ticket on "
                        "Monday about failed backups. No answer by Thursday. Is this normal for "
                        "Acme?")  # fmt: skip
    reply = by_id["hn:42190002"]
    assert reply.title == "Comment on Acme Cloud is down again (#42190002)"
    assert reply.text == ('We moved off Acme after the third outage this month. Their support '
                          'never answered our "urgent" tickets — postmortem here.')  # fmt: skip
    assert reply.url.endswith("?id=42190002") and reply.author == "kfrei"


def test_a_new_source_reads_the_last_hour_one_page_per_phrase(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source_for(platform_api, fetcher).fetch(FeedState())
    requests = platform_api.requests_to(SEARCH)
    assert [r.query["query"] for r in requests] == ["acme", '"acme cloud"']
    for request in requests:
        assert request.query["numericFilters"] == f"created_at_i>={T0 - 3600}"
        assert request.query["tags"] == "(story,comment)"
        assert (request.query["hitsPerPage"], request.query["page"]) == ("100", "0")


def test_the_cursor_advances_and_the_next_poll_asks_from_it_without_repeats(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    now = Now()
    source = source_for(platform_api, fetcher, now, overlap=300)
    first = source.fetch(FeedState())
    assert first.state.cursor == str(T0 - 600)  # the newest hit's created_at_i
    now.t += 60
    platform_api.add_hit(comment(42190100, T0 + 30, "Acme Cloud lost my data"))
    second = source.fetch(first.state)
    asked = platform_api.requests_to(SEARCH)[-1].query["numericFilters"]
    assert asked == f"created_at_i>={T0 - 600 - 300}"  # from the cursor, less the overlap
    assert [e.external_id for e in second.entries] == ["hn:42190100"]  # the rest seen already
    assert second.state.cursor == str(T0 + 30)
    third = source.fetch(second.state)
    assert third.entries == [] and third.state.cursor == str(T0 + 30)


def test_a_hit_indexed_late_behind_the_cursor_is_still_found(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    source = source_for(platform_api, fetcher, overlap=300)
    state = source.fetch(FeedState()).state
    # Posted before the newest hit we saw, but only indexed now (Algolia lags a little).
    platform_api.add_hit(comment(42190099, T0 - 700, "Acme billing is a mess"))
    assert [e.external_id for e in source.fetch(state).entries] == ["hn:42190099"]


def test_many_new_hits_are_read_page_by_page(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    for n in range(250):
        platform_api.add_hit(comment(42200000 + n, T0 + n, f"acme remark {n}"))
    source = source_for(platform_api, fetcher)
    result = source.fetch(FeedState(cursor=str(T0)))
    pages = [
        r.query["page"] for r in platform_api.requests_to(SEARCH) if r.query["query"] == "acme"
    ]
    assert pages == ["0", "1", "2"]
    ids = [e.external_id for e in result.entries]
    assert len(ids) == len(set(ids)) == 250
    assert result.state.cursor == str(T0 + 249)


def test_a_page_bound_stops_paging_and_keeps_the_newest(
    platform_api: PlatformApi, fetcher: HttpFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(250):
        platform_api.add_hit(comment(42200000 + n, T0 + n, f"acme remark {n}"))
    result = source_for(platform_api, fetcher, max_pages=2).fetch(FeedState(cursor=str(T0)))
    assert len(result.entries) == 200 and result.state.cursor == str(T0 + 249)
    assert "oldest were skipped" in caplog.text


def test_a_429_with_a_long_retry_after_ends_the_poll_with_it(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail(SEARCH, 429, {"Retry-After": "1200"})
    with pytest.raises(SourceError) as caught:
        source_for(platform_api, fetcher).fetch(FeedState())
    assert not caught.value.permanent
    assert caught.value.retry_after == 1200  # type: ignore[attr-defined]
    assert len(platform_api.requests_to(SEARCH)) == 1  # not knocked on again within the poll


def test_a_server_error_is_retried_within_the_poll(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail(SEARCH, 503)
    source = source_for(platform_api, fetcher)
    assert len(source.fetch(FeedState()).entries) == 5
    assert len(source.sleeps) == 1  # type: ignore[attr-defined]


def test_an_answer_that_is_not_json_is_a_transient_error_and_the_next_poll_works(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.fail(SEARCH, 200, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>")
    source = source_for(platform_api, fetcher)
    with pytest.raises(SourceError, match="not JSON") as caught:
        source.fetch(FeedState())
    assert not caught.value.permanent
    assert len(source.fetch(FeedState()).entries) == 5


def test_a_malformed_hit_is_skipped_and_the_rest_kept(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    platform_api.add_hit({"_tags": ["comment"], "comment_text": "acme", "created_at_i": T0,
                          "objectID": ""})  # fmt: skip
    assert len(source_for(platform_api, fetcher).fetch(FeedState()).entries) == 5


def test_build_reads_the_settings_and_check_says_what_it_found(
    platform_api: PlatformApi, fetcher: HttpFetcher
) -> None:
    settings = load_settings(hackernews_api_url=platform_api.base_url + "/api/v1")
    source = build(SourceConfig(name="acme-hn", kind="hackernews", query=QUERY), settings, fetcher)
    assert (source.limits.default_interval, source.limits.min_interval) == (60.0, 30.0)
    assert source.limits.requests_per_minute == pytest.approx(166.7, abs=0.1)
    source.clock = lambda: float(T0)
    assert source.check() == "hn search ok: 9 hits in the last hour"  # 5 + 4 for the phrase


def test_a_poller_round_stores_each_mention_once(
    sqlite_store: Store, platform_api: PlatformApi, fetcher: HttpFetcher, clock: Clock
) -> None:
    rule = BrandRule(
        "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.05
    )
    now = Now()
    source = source_for(platform_api, fetcher, now)
    pipeline = Pipeline(sqlite_store, get_scorer("lexicon"), clock)
    poller = Poller(sqlite_store, pipeline, [Job(rule, source, interval=60)], clock,
                    rng=random.Random(1), holder="r1")  # fmt: skip
    try:
        first = poller.poll_once()
        assert (first.failed, first.pipeline.stored) == (0, 5)
        platform_api.add_hit(comment(42190100, T0 + 30, "Acme Cloud lost my data again"))
        clock.advance(61)
        now.t += 61
        second = poller.poll_once()
        assert (second.failed, second.pipeline.stored) == (0, 1)
        assert sqlite_store.feed_state("hn").cursor == str(T0 + 30)
        # A restart: a fresh source (nothing remembered) from the saved cursor stores nothing.
        clock.advance(61)
        poller.jobs[0] = Job(rule, source_for(platform_api, fetcher, now), interval=60)
        assert poller.poll_once().pipeline.stored == 0
        stored = sqlite_store.find_mentions(MentionQuery(source="hn", limit=100))
        assert sorted(m.external_id for m in stored) == [
            "hn:42190001", "hn:42190002", "hn:42190003", "hn:42190004", "hn:42190006",
            "hn:42190100",
        ]  # fmt: skip
    finally:
        poller.close()

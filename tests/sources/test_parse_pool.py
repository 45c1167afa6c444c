"""Feed documents parsed in worker processes: the same entries as parsing in place, a
document over its budget refused for that poll while quick ones go on, a dead worker
replaced, and the same bytes never parsed twice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from bot.http import HttpFetcher
from bot.models import RawEntry
from bot.sources.base import FeedState, SourceError
from bot.sources.feeds import FeedSource, parse_feed
from bot.sources.parse_pool import InlineParser, OverBudgetError, ParsePool
from tests.conftest import shared_path
from tests.fakes.feed_server import FeedServer


def rss(items: int, word: str = "Acme") -> bytes:
    body = "".join(
        f"<item><title>{word} story {i}</title><guid>g{i}</guid>"
        f"<link>https://e.com/{i}</link><description>{word} broke, terrible &amp; slow."
        "</description><pubDate>Tue, 24 Nov 2026 08:00:00 +0000</pubDate></item>"
        for i in range(items)
    )
    channel = f"<channel><title>t</title>{body}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    p = ParsePool(budget=0.3, quick_budget=0.1)
    yield p
    p.close()


def test_workers_give_exactly_the_entries_parsing_in_place_gives(pool: ParsePool) -> None:
    folder = shared_path("feeds", "generated")
    for path in sorted(folder.iterdir())[:12]:
        body = path.read_bytes()
        try:
            expected: list[RawEntry] | str = parse_feed(path.name, body)
        except SourceError as exc:
            expected = str(exc)
        try:
            got: list[RawEntry] | str = pool.parse_blocking(path.name, body, "")
        except SourceError as exc:
            got = str(exc)
        assert got == expected, path.name


def test_a_document_over_its_budget_is_refused_and_quick_ones_go_on(pool: ParsePool) -> None:
    heavy = rss(60_000)  # 12 MB, ~0.9 s on a fast core: three times the 0.3 s budget
    quick = rss(2)
    outcome: list[BaseException | None] = []

    def parse_heavy() -> None:
        try:
            pool.parse_blocking("heavy", heavy, "")
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=parse_heavy)
    worker.start()
    try:
        # While the heavy document runs over its budget (quick lane, then the slow one), the
        # quick lane keeps answering others.
        for _ in range(5):
            assert len(pool.parse_blocking("quick", quick, "")) == 2
    finally:
        worker.join(30)
    [error] = outcome
    assert isinstance(error, OverBudgetError) and error.permanent
    assert "took over 0.3 s" in str(error)
    assert len(pool.parse_blocking("heavy", quick, "")) == 2  # a fresh worker took its place


def test_a_worker_that_dies_is_replaced(pool: ParsePool) -> None:
    assert len(pool.parse_blocking("s", rss(1), "")) == 1
    for worker in list(pool._quick._all):
        worker.process.kill()
        worker.process.wait()
    with pytest.raises(SourceError, match="died"):
        pool.parse_blocking("s", rss(1), "")
    assert len(pool.parse_blocking("s", rss(3), "")) == 3


def test_refusals_come_back_as_the_parser_gave_them(pool: ParsePool) -> None:
    with pytest.raises(SourceError, match="internal subset") as refused:
        pool.parse_blocking("s", b"<!DOCTYPE r [<!ENTITY a 'b'>]><rss/>", "")
    assert refused.value.permanent


class CountingParser(InlineParser):
    """The real in-place parser, counting the documents it is given."""

    def __init__(self) -> None:
        self.documents = 0

    async def parse(self, source: str, body: bytes, content_type: str) -> list[RawEntry]:
        self.documents += 1
        return await super().parse(source, body, content_type)


def test_the_same_bytes_are_not_parsed_again_where_the_server_ignores_conditional_get(
    feed_server: FeedServer,
) -> None:
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"])
    url = feed_server.add("/no-etag", body=rss(3))  # no ETag, no Last-Modified: always 200
    parser = CountingParser()
    source = FeedSource("s", url, fetcher, parser=parser)

    async def poll() -> tuple[bool, int]:
        result = await source.fetch_async(FeedState())
        return result.not_modified, len(result.entries)

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(poll()) == (False, 3)
        assert loop.run_until_complete(poll()) == (True, 0)  # fetched, not parsed
        assert parser.documents == 1
        feed_server.routes["/no-etag"].body = rss(4)
        assert loop.run_until_complete(poll()) == (False, 4)
        feed_server.routes["/no-etag"].body = b"<!DOCTYPE r [<!ENTITY a 'b'>]><rss/>"
        for _ in range(2):  # refused twice, parsed once
            with pytest.raises(SourceError, match="internal subset"):
                loop.run_until_complete(poll())
        assert parser.documents == 3
    finally:
        fetcher.close()
        loop.close()

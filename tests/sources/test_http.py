"""The HTTP seam: conditional GET, errors by kind, redirects, SSRF guard, time and size caps;
the same rules on the async path with each of its clients."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator

import pytest

from bot.http import (
    FetchError,
    FetchResponse,
    HttpFetcher,
    parse_retry_after,
    redact,
)
from bot.http_async import BACKENDS, AsyncFetcher
from bot.sources.base import FeedState
from bot.sources.feeds import FeedSource
from bot.url_guard import UrlGuard
from tests.fakes.feed_server import FeedServer

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Acme is broken</title><link>https://example.com/1</link><guid>1</guid></item>
</channel></rss>"""


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    f = HttpFetcher(
        timeout=3, max_bytes=200_000, max_redirects=3, allow_private_hosts=["127.0.0.1"]
    )
    yield f
    f.close()


def no_sleep(_: float) -> None:
    pass


def test_conditional_get_sends_validators_and_takes_304_as_not_modified(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    url = feed_server.add(
        "/feed", body=RSS, etag='"v1"', last_modified="Tue, 24 Nov 2026 08:00:00 GMT"
    )
    source = FeedSource("s", url, fetcher, sleep=no_sleep)
    first = source.fetch(FeedState())
    assert len(first.entries) == 1 and first.state.etag == '"v1"'
    second = source.fetch(first.state)
    assert second.not_modified and second.entries == [] and second.state == first.state
    sent = feed_server.requests_to("/feed")[1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Tue, 24 Nov 2026 08:00:00 GMT"


def test_server_errors_are_retried_then_recover(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    url = feed_server.add("/flaky", body=RSS, statuses=[500, 503])
    waits: list[float] = []
    result = FeedSource("s", url, fetcher, attempts=3, sleep=waits.append).fetch(FeedState())
    assert len(result.entries) == 1
    assert len(feed_server.requests_to("/flaky")) == 3 and len(waits) == 2


def test_retry_after_is_obeyed(feed_server: FeedServer, fetcher: HttpFetcher) -> None:
    url = feed_server.add("/busy", body=RSS, statuses=[429], headers={"Retry-After": "7"})
    waits: list[float] = []
    FeedSource("s", url, fetcher, attempts=2, sleep=waits.append).fetch(FeedState())
    assert waits == [7.0]


def test_a_feed_that_keeps_failing_raises_a_transient_error(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    from bot.sources.base import SourceError

    url = feed_server.add("/down", statuses=[500, 500, 500])
    with pytest.raises(SourceError, match="HTTP 500") as failure:
        FeedSource("s", url, fetcher, attempts=3, sleep=no_sleep).fetch(FeedState())
    assert not failure.value.permanent


def test_not_found_is_permanent_and_not_retried(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    from bot.sources.base import SourceError

    url = feed_server.url("/missing")
    with pytest.raises(SourceError, match="HTTP 404") as failure:
        FeedSource("s", url, fetcher, attempts=3, sleep=no_sleep).fetch(FeedState())
    assert failure.value.permanent and len(feed_server.requests_to("/missing")) == 1


def test_redirects_are_followed_up_to_the_limit(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    feed_server.add("/final", body=RSS)
    feed_server.add("/hop1", redirect_to="/final")
    assert fetcher.get(feed_server.url("/hop1")).final_url.endswith("/final")
    feed_server.add("/loop", redirect_to="/loop")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.get(feed_server.url("/loop"))
    assert len(feed_server.requests_to("/loop")) == 4


def test_a_redirect_to_an_internal_address_is_refused_before_connecting(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    url = feed_server.add("/sneaky", redirect_to="http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError, match="metadata") as refused:
        fetcher.get(url)
    assert refused.value.permanent
    url = feed_server.add("/sneaky2", redirect_to="http://10.0.0.7/feed")
    with pytest.raises(FetchError, match="internal address"):
        fetcher.get(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://localhost/feed",
        "http://[::1]/feed",
        "http://10.1.2.3/feed",
        "http://192.168.0.1/feed",
        "http://172.16.5.4/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://224.0.0.1/",
        "file:///etc/passwd",
        "gopher://example.com/",
    ],
)
def test_internal_addresses_and_other_schemes_are_refused_by_default(url: str) -> None:
    with pytest.raises(FetchError) as refused:
        UrlGuard().check(url)
    assert refused.value.permanent


def test_a_hostname_whose_dns_answers_include_an_internal_address_is_refused() -> None:
    guard = UrlGuard(resolver=lambda host, port: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(FetchError, match=r"127\.0\.0\.1"):
        guard.check("https://rebinding.example/feed")
    UrlGuard(resolver=lambda host, port: ["93.184.216.34"]).check("https://ok.example/feed")


def test_allow_list_admits_hosts_and_networks() -> None:
    UrlGuard(["127.0.0.1"]).check("http://127.0.0.1:8080/feed")
    UrlGuard(["10.0.0.0/8"]).check("http://10.20.30.40/feed")
    UrlGuard(["feeds.internal"]).check("http://feeds.internal/feed")


def test_declared_size_over_the_cap_is_refused_unread(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    url = feed_server.add("/big", body=b"x" * 300_000)
    with pytest.raises(FetchError, match="cap"):
        fetcher.get(url)


def test_an_endless_body_is_cut_at_the_cap(feed_server: FeedServer, fetcher: HttpFetcher) -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"<item>" * 10_000

    url = feed_server.add("/endless", stream=endless)
    with pytest.raises(FetchError, match="cap"):
        fetcher.get(url)


def test_a_gzip_bomb_is_stopped_at_the_cap_without_inflating_it(
    feed_server: FeedServer, fetcher: HttpFetcher
) -> None:
    # 64 MB of zeros compress to about 64 kB (one network chunk): over 300 times the 200 kB
    # cap, which is all the output we may produce before refusing.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)

    def bomb() -> Iterator[bytes]:
        for _ in range(64):
            yield compressor.compress(block)
        yield compressor.flush()

    url = feed_server.add("/bomb", stream=bomb, encoding="gzip")
    with pytest.raises(FetchError, match="after decompression"):
        fetcher.get(url)


def test_gzip_bodies_are_decoded(feed_server: FeedServer, fetcher: HttpFetcher) -> None:
    url = feed_server.add("/gz", body=gzip.compress(RSS), encoding="gzip")
    assert fetcher.get(url).body == RSS


def test_a_server_that_drips_bytes_hits_the_total_deadline(feed_server: FeedServer) -> None:
    fetcher = HttpFetcher(timeout=0.5, allow_private_hosts=["127.0.0.1"])
    url = feed_server.add("/drip", body=RSS, drip_seconds=0.05)
    with pytest.raises(FetchError, match=r"longer than|timed out"):
        fetcher.get(url)
    fetcher.close()


def test_logged_urls_lose_their_query_tokens() -> None:
    assert (
        redact("https://www.google.com/alerts/feeds/0123/456?token=secret")
        == "https://www.google.com/alerts/feeds/0123/456?…"
    )


@pytest.mark.parametrize(("value", "expected"), [("12", 12.0), ("", None), ("soon", None)])
def test_retry_after_parsing(value: str, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


class FlippingResolver:
    """DNS that answers an allowed address first, then an internal one (a rebinding attack)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return ["127.0.0.1"] if self.calls == 1 else ["169.254.169.254"]


def test_dns_rebinding_has_no_window_the_client_connects_to_the_checked_answer(
    feed_server: FeedServer,
) -> None:
    resolver = FlippingResolver()
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"], resolver=resolver)
    url = feed_server.add("/feed", body=RSS).replace("127.0.0.1", "rebind.example")
    try:
        assert fetcher.get(url).body == RSS  # connected to the answer the guard checked
        assert resolver.calls == 1  # the client never looked the name up again itself
    finally:
        fetcher.close()
    with pytest.raises(FetchError, match=r"169\.254\.169\.254"):
        HttpFetcher(timeout=3, resolver=resolver).get(url)  # the next lookup: refused


def test_a_server_that_stops_sending_is_cut_by_the_read_timeout(feed_server: FeedServer) -> None:
    fetcher = HttpFetcher(timeout=0.5, allow_private_hosts=["127.0.0.1"])
    url = feed_server.add("/hang", body=b"<?", drip_seconds=10)  # one byte, then silence
    with pytest.raises(FetchError, match=r"longer than|timed out") as failure:
        fetcher.get(url)
    assert not failure.value.permanent
    fetcher.close()


# --- the async path (bot/http_async.py): the same rules, with either client -----------------
def aget(fetcher: HttpFetcher, backend: str, url: str, **validators: str) -> FetchResponse:
    """One fetch through a fresh AsyncFetcher on a fresh event loop, closed afterwards."""

    async def fetch() -> FetchResponse:
        client = AsyncFetcher(fetcher, backend=backend)
        try:
            return await client.get(url, **validators)
        finally:
            await client.aclose()

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(fetch())
    finally:
        loop.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_conditional_get_sends_validators_and_takes_304_as_not_modified(
    feed_server: FeedServer, fetcher: HttpFetcher, backend: str
) -> None:
    url = feed_server.add("/c", body=RSS, etag='"abc"', last_modified="Mon, 23 Nov 2026")
    first = aget(fetcher, backend, url)
    assert (first.status, first.body, first.etag) == (200, RSS, '"abc"')
    again = aget(fetcher, backend, url, etag='"abc"', last_modified="Mon, 23 Nov 2026")
    assert again.status == 304 and again.body == b""
    sent = feed_server.requests_to("/c")[-1].headers
    assert sent["If-None-Match"] == '"abc"' and sent["If-Modified-Since"] == "Mon, 23 Nov 2026"


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_path_refuses_internal_addresses_unless_allowed(
    feed_server: FeedServer, fetcher: HttpFetcher, backend: str
) -> None:
    strict = HttpFetcher(timeout=3)
    url = feed_server.add("/private", body=RSS)
    with pytest.raises(FetchError, match="internal address") as refused:
        aget(strict, backend, url)
    assert refused.value.permanent and feed_server.requests_to("/private") == []
    sneaky = feed_server.add("/sneaky", redirect_to="http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError, match="metadata"):
        aget(fetcher, backend, sneaky)  # loopback allowed, the redirect's target is not
    strict.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_path_connects_only_to_the_checked_dns_answer(
    feed_server: FeedServer, backend: str
) -> None:
    resolver = FlippingResolver()
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"], resolver=resolver)
    url = feed_server.add("/feed", body=RSS).replace("127.0.0.1", "rebind.example")
    assert aget(fetcher, backend, url).body == RSS and resolver.calls == 1
    with pytest.raises(FetchError, match=r"169\.254\.169\.254"):
        aget(fetcher, backend, url)  # a fresh client looks it up again: refused
    assert len(feed_server.requests_to("/feed")) == 1
    fetcher.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_path_enforces_the_size_cap(
    feed_server: FeedServer, fetcher: HttpFetcher, backend: str
) -> None:
    declared = feed_server.add("/big", body=b"x" * 300_000)
    with pytest.raises(FetchError, match="cap") as refused:
        aget(fetcher, backend, declared)
    assert refused.value.permanent

    def endless() -> Iterator[bytes]:
        while True:
            yield b"<item>" * 10_000

    with pytest.raises(FetchError, match="cap"):
        aget(fetcher, backend, feed_server.add("/endless", stream=endless))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def bomb() -> Iterator[bytes]:
        for _ in range(64):
            yield compressor.compress(b"\0" * (1 << 20))
        yield compressor.flush()

    with pytest.raises(FetchError, match="after decompression"):
        aget(fetcher, backend, feed_server.add("/bomb", stream=bomb, encoding="gzip"))
    gz = feed_server.add("/gz", body=gzip.compress(RSS), encoding="gzip")
    assert aget(fetcher, backend, gz).body == RSS


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_path_has_one_deadline_for_the_whole_fetch(
    feed_server: FeedServer, backend: str
) -> None:
    fetcher = HttpFetcher(timeout=0.5, allow_private_hosts=["127.0.0.1"])
    url = feed_server.add("/drip", body=RSS, drip_seconds=0.05)
    with pytest.raises(FetchError, match="timed out") as failure:
        aget(fetcher, backend, url)
    assert not failure.value.permanent
    fetcher.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_path_classifies_errors_and_limits_redirects(
    feed_server: FeedServer, fetcher: HttpFetcher, backend: str
) -> None:
    limited = feed_server.add("/429", statuses=[429], headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match="HTTP 429") as busy:
        aget(fetcher, backend, limited)
    assert busy.value.retry_after == 120 and not busy.value.permanent
    with pytest.raises(FetchError, match="HTTP 404") as missing:
        aget(fetcher, backend, feed_server.url("/nowhere"))
    assert missing.value.permanent
    feed_server.add("/loop", redirect_to="/loop")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        aget(fetcher, backend, feed_server.url("/loop"))
    assert len(feed_server.requests_to("/loop")) == 4

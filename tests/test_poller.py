"""The poller with real feed sources on a loopback server: a failing or malformed feed never
stops the others, backs off, recovers; replicas share feeds through leases; it is polite (one
host gets at most `per_host` requests at once, Retry-After is obeyed, every poll is
conditional). Each runs with both async HTTP clients, and with a plain sync source."""

from __future__ import annotations

import io
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.analysis import get_scorer
from bot.http import HttpFetcher
from bot.http_async import BACKENDS
from bot.matching import TermSet
from bot.models import RawEntry, Route
from bot.pipeline import BrandRule, Pipeline
from bot.poller import Job, Poller, PollReport, SourceHealth
from bot.sources.base import FeedState, FetchResult
from bot.sources.feeds import FeedSource
from bot.store import Store
from tests.conftest import Clock
from tests.fakes.counting_server import CountingServer
from tests.fakes.feed_server import FeedServer

RULE = BrandRule(
    "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.05
)


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://example.com/{i}</link><guid>{t}</guid>"
        f"<description>{t}. Terrible, the worst.</description></item>"
        for i, t in enumerate(titles)
    )
    channel = f"<channel><title>x</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@pytest.fixture(params=BACKENDS)
def fetcher(request: pytest.FixtureRequest) -> Iterator[HttpFetcher]:
    f = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"], async_backend=request.param)
    yield f
    f.close()


def poller_for(
    store: Store, fetcher: HttpFetcher, clock: Clock, urls: dict[str, str], holder: str = "r1"
) -> Poller:
    jobs = [
        Job(RULE, FeedSource(name, url, fetcher, attempts=2, sleep=lambda _: None), interval=60)
        for name, url in urls.items()
    ]
    pipeline = Pipeline(store, get_scorer("textblob"), clock)
    return Poller(store, pipeline, jobs, clock, rng=random.Random(1), holder=holder)


def test_a_failing_and_a_malformed_feed_do_not_stop_the_good_one(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    urls = {
        "good": feed_server.add("/good", body=rss("Acme broke my phone")),
        "down": feed_server.add("/down", statuses=[500, 500, 500, 500]),
        "junk": feed_server.add("/junk", body=b"<html><body>not a feed"),
    }
    poller = poller_for(sqlite_store, fetcher, clock, urls)
    report = poller.poll_once()
    assert (report.polled, report.failed) == (3, 2)
    assert report.pipeline.stored == 1 and report.pipeline.alerts == 1
    health = {s.source: s for s in sqlite_store.source_statuses()}
    assert health["good"].consecutive_failures == 0 and health["good"].items_seen == 1
    assert "HTTP 500" in health["down"].last_error
    assert "not a" in health["junk"].last_error


def test_a_failed_feed_backs_off_and_recovers(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/flaky", body=rss("Acme lost my parcel"), statuses=[500, 500])
    poller = poller_for(sqlite_store, fetcher, clock, {"flaky": url})
    assert poller.poll_once().failed == 1
    assert poller.due_jobs(clock.advance(30)) == []  # backing off: not due at half an interval
    assert poller.due_jobs(clock.advance(40)) != []
    report = poller.poll_once()
    assert report.failed == 0 and report.pipeline.stored == 1
    [status] = sqlite_store.source_statuses()
    assert status.consecutive_failures == 0 and status.errors == 1


def test_two_replicas_do_not_poll_the_same_feed_at_once(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/shared", body=rss("Acme refund never came"))
    first = poller_for(sqlite_store, fetcher, clock, {"shared": url}, holder="r1")
    second = poller_for(sqlite_store, fetcher, clock, {"shared": url}, holder="r2")
    assert first.poll_once().polled == 1
    skipped = second.poll_once()
    assert (skipped.polled, skipped.skipped) == (0, 1)
    assert len(feed_server.requests_to("/shared")) == 1
    clock.advance(61)  # due again: whichever replica asks first takes it
    assert second.poll_once().polled == 1
    assert len(feed_server.requests_to("/shared")) == 2


def test_a_restarted_poll_after_a_crash_stores_nothing_twice(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed", body=rss("Acme order broken", "Acme app down again"))
    poller_for(sqlite_store, fetcher, clock, {"feed": url}).poll_once()
    # The process died after storing but before saving the feed state: the next process
    # fetches everything again (no ETag) and dedup keeps each entry once.
    sqlite_store.save_feed_state("feed", FeedState(), at=clock())
    clock.advance(301)
    again = poller_for(sqlite_store, fetcher, clock, {"feed": url}, holder="r2")
    report = again.poll_once()
    assert report.pipeline.entries == 2 and report.pipeline.stored == 0
    assert sqlite_store.pending_count() == 2


def test_a_feed_that_changes_every_ids_each_poll_adds_nothing_new(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    def feed(generation: int) -> bytes:
        items = "".join(
            f"<item><title>Acme story number {n} about a broken order and bad service</title>"
            f"<link>https://news.example.com/{n}?utm_source=rss&amp;g={generation}</link>"
            f"<guid>gen{generation}-{n}</guid><description>Terrible.</description></item>"
            for n in range(5)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()

    url = feed_server.add("/shifty", body=feed(0))
    poller = poller_for(sqlite_store, fetcher, clock, {"shifty": url})
    assert poller.poll_once().pipeline.stored == 5
    for generation in range(1, 4):
        feed_server.routes["/shifty"].body = feed(generation)
        clock.advance(61)
        report = poller.poll_once()
        assert report.pipeline.entries == 5 and report.pipeline.stored == 0
    assert sqlite_store.pending_count() == 5


def test_the_interval_adapts_to_how_often_a_feed_changes(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/busy", body=rss("Acme one"), etag='"1"')
    poller = poller_for(sqlite_store, fetcher, clock, {"busy": url})
    poller.min_interval, poller.max_interval = 15.0, 240.0
    health = poller.health["busy"]

    def poll() -> float:
        poller.poll_once()
        clock.advance(health.interval)
        return health.interval

    assert poll() == 30  # new entries: twice as often (60 → 30)
    route = feed_server.routes["/busy"]
    route.body, route.etag = rss("Acme one", "Acme two"), '"2"'
    assert poll() == 15  # changed again, down to the minimum
    assert poll() == 18.75  # 304: a quarter less often
    intervals = [poll() for _ in range(12)]
    assert intervals[-1] == 240  # quiet feeds settle at the maximum


def test_cache_control_max_age_is_honoured(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/cached", body=rss("Acme x"), headers={"Cache-Control": "max-age=900"})
    poller = poller_for(sqlite_store, fetcher, clock, {"cached": url})
    poller.poll_once()
    due = poller.health["cached"].next_due
    assert due is not None and (due - clock()).total_seconds() == 900


def test_one_host_never_gets_more_than_per_host_requests_at_once(
    sqlite_store: Store, clock: Clock
) -> None:
    server = CountingServer(expect=3).start()
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"], per_host=3)
    try:
        urls = {f"f{n}": server.url(f"/f{n}") for n in range(12)}
        report = poller_for(sqlite_store, fetcher, clock, urls).poll_once()
        assert report.polled == 12 and report.failed == 0
        assert server.requests == 12
        assert server.most_in_flight == 3  # concurrent, and never more than the bound
    finally:
        fetcher.close()
        server.stop()


def test_a_429_is_not_retried_at_once_and_its_retry_after_sets_the_next_poll(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add(
        "/limited", body=rss("Acme x"), statuses=[429], headers={"Retry-After": "1200"}
    )
    poller = poller_for(sqlite_store, fetcher, clock, {"limited": url})
    assert poller.poll_once().failed == 1
    assert len(feed_server.requests_to("/limited")) == 1  # no knocking again within the poll
    due = poller.health["limited"].next_due
    assert due is not None and (due - clock()).total_seconds() >= 1200
    assert poller.due_jobs(clock.advance(1199)) == []
    assert poller.due_jobs(clock.advance(1)) != []
    assert poller.poll_once().failed == 0


def test_every_poll_after_the_first_is_conditional(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    stamp = "Tue, 24 Nov 2026 08:00:00 GMT"
    url = feed_server.add("/cond", body=rss("Acme y"), etag='"v1"', last_modified=stamp)
    poller = poller_for(sqlite_store, fetcher, clock, {"cond": url})
    for _ in range(3):
        poller.poll_once()
        clock.advance(3600)
    first, *later = feed_server.requests_to("/cond")
    assert "If-None-Match" not in first.headers
    assert len(later) == 2
    for request in later:
        assert request.headers["If-None-Match"] == '"v1"'
        assert request.headers["If-Modified-Since"] == stamp
    [status] = sqlite_store.source_statuses()
    assert status.polls == 3 and status.items_seen == 1  # two 304s: nothing fetched again


class CountingSyncSource:
    """A sync source of another kind (as the platform sources are): no fetch_async."""

    name = "sync"

    def __init__(self) -> None:
        self.calls: list[FeedState] = []

    def fetch(self, state: FeedState) -> FetchResult:
        self.calls.append(state)
        n = len(self.calls)
        entry = RawEntry(source="sync", external_id=f"s{n}", url=f"https://example.com/s{n}",
                         title=f"Acme thing {n} broke, terrible", text="awful")  # fmt: skip
        return FetchResult([entry], FeedState(cursor=str(n)))


def test_sync_sources_are_polled_beside_feeds_and_keep_their_cursor(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed", body=rss("Acme broke my phone"))
    source = CountingSyncSource()
    poller = poller_for(sqlite_store, fetcher, clock, {"feed": url})
    poller.jobs.append(Job(RULE, source, interval=60))  # type: ignore[arg-type]
    poller.health["sync"] = SourceHealth(interval=60)
    report = poller.poll_once()
    assert (report.polled, report.failed, report.pipeline.stored) == (2, 0, 2)
    clock.advance(3600)
    poller.poll_once()
    assert [s.cursor for s in source.calls] == ["", "1"]
    assert sqlite_store.feed_state("sync").cursor == "2"


def test_a_round_in_batches_leases_saves_and_records_every_feed_on_both_databases(
    store: Store, clock: Clock, feed_server: FeedServer
) -> None:
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"])
    things = ("phone", "laptop", "router", "watch", "tablet", "camera", "speaker")
    urls = {
        f"f{n}": feed_server.add(
            f"/f{n}",  # distinct links too: one canonical URL is one mention
            body=rss(f"Acme {thing} broke").replace(b"/0<", f"/{thing}<".encode()),
            etag=f'"{n}"',
        )
        for n, thing in enumerate(things)
    }
    first = poller_for(store, fetcher, clock, urls, holder="r1")
    first.batch = 3  # three lease batches and three write-backs for seven feeds
    second = poller_for(store, fetcher, clock, urls, holder="r2")
    try:
        report = first.poll_once()
        assert (report.polled, report.failed, report.pipeline.stored) == (7, 0, 7)
        assert second.poll_once().skipped == 7  # leases held until each feed is due again
        assert {s.source: s.polls for s in store.source_statuses()} == {n: 1 for n in urls}
        assert store.feed_state("f4").etag == '"4"'
        clock.advance(3600)
        assert second.poll_once().not_modified == 7  # r2 takes over, conditionally
    finally:
        fetcher.close()


def test_a_poller_with_only_streamed_sources_waits_instead_of_failing(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock
) -> None:
    poller = poller_for(sqlite_store, fetcher, clock, urls={})
    try:
        assert poller.seconds_until_next(clock()) > 60
        assert poller.poll_once().polled == 0
    finally:
        poller.close()


# --- each source on its own schedule (start), leases that follow the polls ------------------
def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until `condition` holds (checked every 50 ms); AssertionError after `timeout`."""
    tick, deadline = threading.Event(), time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition still false"
        tick.wait(0.05)


def live_poller(store: Store, fetcher: HttpFetcher, urls: dict[str, str], **options: Any) -> Poller:
    """A poller on the real clock whose feeds are due again a fraction of a second later."""
    jobs = [
        Job(RULE, FeedSource(name, url, fetcher, attempts=1), interval=0.2)
        for name, url in urls.items()
    ]
    pipeline = Pipeline(store, get_scorer("textblob"), lambda: datetime.now(UTC))
    return Poller(store, pipeline, jobs, lambda: datetime.now(UTC), min_interval=0.2,
                  max_interval=0.2, rng=random.Random(2), **options)  # fmt: skip


def test_a_hanging_feed_delays_no_other_feed(sqlite_store: Store, feed_server: FeedServer) -> None:
    release = threading.Event()

    def hang() -> Iterator[bytes]:
        release.wait(30)
        yield rss("Acme late").decode().encode()

    fetcher = HttpFetcher(timeout=30, allow_private_hosts=["127.0.0.1"])
    urls = {
        "hanging": feed_server.add("/hanging", stream=hang),
        "healthy": feed_server.add("/healthy", body=rss("Acme broke my phone"), etag='"1"'),
    }
    poller = live_poller(sqlite_store, fetcher, urls)
    stop = threading.Event()
    poller.start(stop)
    try:
        # The healthy feed is polled again and again while the hanging one's poll runs.
        wait_for(lambda: len(feed_server.requests_to("/healthy")) >= 4)
        assert len(feed_server.requests_to("/hanging")) == 1
        report = poller.take_report()
        assert report.polled >= 3 and report.failed == 0 and report.pipeline.stored == 1
    finally:
        release.set()
        stop.set()
        poller.join(10)
        fetcher.close()
        poller.close()


def test_a_lease_is_renewed_while_its_poll_runs_and_others_wait_for_its_end(
    sqlite_store: Store, feed_server: FeedServer
) -> None:
    release = threading.Event()

    def hang() -> Iterator[bytes]:
        release.wait(30)
        yield rss("Acme late").decode().encode()

    fetcher = HttpFetcher(timeout=30, allow_private_hosts=["127.0.0.1"])
    url = feed_server.add("/hanging", stream=hang)
    first = live_poller(sqlite_store, fetcher, {"feed": url}, holder="r1", lease_seconds=0.6)
    second = live_poller(sqlite_store, fetcher, {"feed": url}, holder="r2", lease_seconds=0.6)
    stop = threading.Event()
    first.start(stop)
    try:
        wait_for(lambda: len(feed_server.requests_to("/hanging")) == 1)
        # Well past the first lease: renewed, so still r1's.
        deadline = datetime.now(UTC) + timedelta(seconds=1.5)
        wait_for(lambda: datetime.now(UTC) > deadline)
        report = second.poll_once()
        assert (report.polled, report.skipped) == (0, 1)
        expiry = sqlite_store.lease_expiries(["feed"])["feed"]
        due = second.health["feed"].next_due
        assert due is not None and expiry <= due <= expiry + timedelta(seconds=1.5)
    finally:
        release.set()
        stop.set()
        first.join(10)
        for poller in (first, second):
            poller.close()
        fetcher.close()


def test_a_dead_replicas_feed_is_taken_over_when_its_short_lease_runs_out(
    sqlite_store: Store, fetcher: HttpFetcher, clock: Clock, feed_server: FeedServer
) -> None:
    url = feed_server.add("/feed", body=rss("Acme refund never came"))
    # A replica leased the feed for a poll and died: nobody renews or gives it back.
    sqlite_store.lease_feeds(["feed"], holder="dead", now=clock(), until=clock.advance(0) +
                             timedelta(seconds=15))  # fmt: skip
    poller = poller_for(sqlite_store, fetcher, clock, {"feed": url}, holder="alive")
    assert poller.poll_once().skipped == 1
    due = poller.health["feed"].next_due
    assert due is not None and (due - clock()).total_seconds() <= 16.5  # not 300 s
    clock.advance(16.5)
    assert poller.due_jobs(clock()) and poller.poll_once().polled == 1


def test_nothing_due_is_not_every_source_failing(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, feed_server: FeedServer
) -> None:
    from bot.chat.console import ConsoleAdapter
    from bot.config import load_settings, load_watch_list
    from bot.runtime import after_polls, build_runtime

    watch = tmp_path / "watch.toml"
    watch.write_text(
        '[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#alerts"\n\n'
        '[[brand.sources]]\nname = "down"\n'
        f'url = "{feed_server.url("/down")}"\n',
        encoding="utf-8",
    )
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}", scorer="textblob",
                             allow_private_hosts=["127.0.0.1"])  # fmt: skip
    runtime = build_runtime(settings, ConsoleAdapter(io.StringIO()), watch=load_watch_list(watch))
    caplog.set_level(logging.WARNING)
    try:
        # After a restart every feed is still another replica's, or simply not due yet.
        after_polls(runtime, PollReport(skipped=1), hinted=False)
        assert "every source" not in caplog.text
        failed = runtime.poller.poll_once()  # the feed 404s: now it is said
        assert failed.all_failed and after_polls(runtime, failed, hinted=False)
        assert "every source polled failed" in caplog.text
    finally:
        runtime.close()

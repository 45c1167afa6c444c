"""Conditional polls per second and peak memory of the real poller over 10,000 local feeds.

A fast HTTP/1.1 keep-alive server in its own process (pinned to the other core when there is
one) serves 10,000 distinct feeds on 127.0.0.1: it answers 304 to a matching If-None-Match
and, on about one request in twenty, changes the feed and answers 200 with a small RSS body
holding a new entry (a quarter of them complaints about Acme). The client process is pinned
to one core and runs the real Poller with real FeedSources (parsing in the bot's parse
worker process, which inherits the pin), the real Pipeline (lexicon scorer) and a real SQLite
store whose feed state starts as if the feeds had been polled once, so every poll is
conditional.

In the same run, the baseline: the naive way, `feedparser.parse(url, etag=...)` called feed
after feed, over a sample of the feeds (it is slow). Each measurement runs in a fresh process
with a fresh server, so peak RSS (ru_maxrss) is that measurement's alone.

    python bench/poll.py [--feeds 10000] [--rounds 2] [--runs 3] [--baseline-feeds 1000]
                         [--backends aiohttp httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANGE_ONE_IN = 20  # ~5% of the feeds have a new entry at each round
PROBLEMS = ("arrived broken", "was charged twice", "never shipped", "crashes on login")


# --- the server ---------------------------------------------------------------------------
def etag_of(feed: int, generation: int) -> str:
    return f'"{feed}-{generation}"'


def rss_body(feed: int, generation: int) -> bytes:
    items = []
    for g in (generation, generation - 1):
        if g < 0:
            continue
        subject = "Acme" if (feed + g) % 4 == 0 else "Globex"
        title = f"{subject} order {feed}-{g} {PROBLEMS[(feed + g) % len(PROBLEMS)]}"
        items.append(
            f"<item><title>{title}</title><link>https://forum.example.com/t/{feed}/{g}</link>"
            f"<guid>feed{feed}-{g}</guid><description>{title}; the worst service, awful."
            "</description><pubDate>Tue, 24 Nov 2026 08:00:00 +0000</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>feed {feed}</title><link>https://forum.example.com/</link>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


class Feeds:
    """Every feed's generation and request count; answers precomputed where it can."""

    def __init__(self, count: int) -> None:
        self.generation = [0] * count
        self.requests = [0] * count
        self.not_modified = [self._304(f) for f in range(count)]

    def _304(self, feed: int) -> bytes:
        return (
            f"HTTP/1.1 304 Not Modified\r\nETag: {etag_of(feed, self.generation[feed])}\r\n"
            "Cache-Control: max-age=60\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    def answer(self, head: bytes) -> bytes:
        line, _, rest = head.partition(b"\r\n")
        path = line.split(b" ", 2)[1]
        if not path.startswith(b"/f/"):
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        feed = int(path[3:])
        k = self.requests[feed]
        self.requests[feed] = k + 1
        if (feed + k * 7) % CHANGE_ONE_IN == 0:  # the feed has something new since last time
            self.generation[feed] += 1
            self.not_modified[feed] = self._304(feed)
        etag = etag_of(feed, self.generation[feed]).encode()
        sent = b""
        for header in rest.split(b"\r\n"):
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"if-none-match":
                sent = value.strip()
        if sent == etag:
            return self.not_modified[feed]
        body = rss_body(feed, self.generation[feed])
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: " + etag
            + b"\r\nCache-Control: max-age=60\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip


class FeedProtocol(asyncio.Protocol):
    def __init__(self, feeds: Feeds) -> None:
        self.feeds = feeds
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            self.transport.write(self.feeds.answer(head))  # type: ignore[attr-defined]


def serve(count: int, ready: mp.Queue, stop: mp.Event) -> None:  # type: ignore[type-arg]
    pin(1)

    async def main() -> None:
        feeds = Feeds(count)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: FeedProtocol(feeds), "127.0.0.1", 0, backlog=1024)
        ready.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.2)
        server.close()

    asyncio.run(main())


def pin(cpu: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


# --- the clients --------------------------------------------------------------------------
def measure_poller(base_url: str, feeds: int, rounds: int, out: mp.Queue, backend: str) -> None:  # type: ignore[type-arg]
    import logging

    logging.disable(logging.WARNING) if not os.environ.get("BENCH_LOG") else logging.basicConfig(
        level=logging.INFO
    )
    from bot.analysis import get_scorer
    from bot.http import HttpFetcher
    from bot.matching import TermSet
    from bot.models import Route
    from bot.pipeline import BrandRule, Pipeline
    from bot.poller import Job, Poller
    from bot.sources.base import FeedState
    from bot.sources.feeds import FeedSource
    from bot.sources.parse_pool import ParsePool
    from bot.store import open_store

    pin(0)
    now = [datetime(2026, 11, 24, 9, 0, tzinfo=UTC)]
    clock = lambda: now[0]  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/bench.db")
        # As if every feed had been polled once: each poll of the benchmark is conditional.
        with store.transaction():  # type: ignore[attr-defined]
            for f in range(feeds):
                store.save_feed_state(f"feed{f}", FeedState(etag=etag_of(f, 0)), at=clock())
        fetcher = HttpFetcher(timeout=10, allow_private_hosts=["127.0.0.1"], async_backend=backend)
        parser = ParsePool()  # as the bot parses: in a worker process (on the client's core)
        brand = BrandRule(
            "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.5
        )
        jobs = [
            Job(brand, FeedSource(f"feed{f}", f"{base_url}/f/{f}", fetcher, parser=parser), 300)
            for f in range(feeds)
        ]
        pipeline = Pipeline(store, get_scorer("lexicon"), clock)
        poller = Poller(store, pipeline, jobs, clock, rng=random.Random(1), holder="bench")
        rates, changed, stored = [], 0, 0
        profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        for _ in range(rounds):
            started = time.perf_counter()
            if profile is not None:  # where the time goes: BENCH_PROFILE=out.prof
                profile.enable()
            report = poller.poll_once()
            if profile is not None:
                profile.disable()
            elapsed = time.perf_counter() - started
            assert report.failed == 0, f"{report.failed} polls failed"
            rates.append(report.polled / elapsed)
            changed += report.polled - report.not_modified
            stored += report.pipeline.stored
            now[0] += timedelta(hours=2)  # every lease and interval has run out
        fetcher.close()
        parser.close()
        store.close()
    if profile is not None:
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    out.put((statistics.median(rates), peak_mb(), changed, stored))


def measure_feedparser(base_url: str, feeds: int, rounds: int, out: mp.Queue, _: str) -> None:  # type: ignore[type-arg]
    import feedparser

    pin(0)
    etags = {f: etag_of(f, 0) for f in range(feeds)}
    rates, changed = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        for f in range(feeds):
            parsed = feedparser.parse(f"{base_url}/f/{f}", etag=etags[f])
            if parsed.get("status") == 200:
                changed += 1
                etags[f] = parsed.get("etag", "")
        rates.append(feeds / (time.perf_counter() - started))
    out.put((statistics.median(rates), peak_mb(), changed, 0))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(
    target: object, feeds: int, rounds: int, backend: str = ""
) -> tuple[float, float, int, int]:
    """One measurement: a fresh server, a fresh client process."""
    ctx = mp.get_context("spawn")
    ready, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(feeds, ready, stop), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=30)
        client = ctx.Process(
            target=target, args=(f"http://127.0.0.1:{port}", feeds, rounds, out, backend)
        )
        client.start()
        result = out.get(timeout=1800)
        client.join(timeout=30)
        return result  # type: ignore[no-any-return]
    finally:
        stop.set()
        server.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-feeds", type=int, default=1000)
    parser.add_argument("--backends", nargs="+", default=["aiohttp", "httpx"],
                        help="async HTTP clients to measure the poller with")  # fmt: skip
    args = parser.parse_args()
    print(f"{args.feeds:,} feeds on 127.0.0.1, ~{100 // CHANGE_ONE_IN}% changing per round; "
          f"client pinned to one core; {args.runs} runs of {args.rounds} rounds")  # fmt: skip
    results: dict[str, list[tuple[float, float, int, int]]] = {b: [] for b in args.backends}
    baseline = []
    for i in range(args.runs):
        for backend in args.backends:
            results[backend].append(run(measure_poller, args.feeds, args.rounds, backend))
            rate, mb, changed, stored = results[backend][-1]
            print(f"  run {i + 1}: poller ({backend:7}) {rate:6.0f} polls/s, peak {mb:4.0f} MB "
                  f"({changed} answered 200, {stored} mentions stored)")  # fmt: skip
        baseline.append(run(measure_feedparser, args.baseline_feeds, 1))
        print(f"  run {i + 1}: feedparser.parse, one feed after another: {baseline[-1][0]:6.0f} "
              f"polls/s over {args.baseline_feeds:,} feeds")  # fmt: skip
    base = statistics.median(r[0] for r in baseline)
    print(f"baseline (feedparser.parse sequential): {base:6.0f} polls/s, median of {args.runs}")
    for backend, rows in results.items():
        rate, peak = statistics.median(r[0] for r in rows), max(r[1] for r in rows)
        print(f"poller, {backend:7} backend: {rate:6.0f} polls/s, median of {args.runs}; "
              f"peak {peak:.0f} MB; {rate / base:.1f}x the baseline")  # fmt: skip


if __name__ == "__main__":
    main()

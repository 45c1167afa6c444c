"""Pieces of bench/latency.py: the timed fakes, the bot started in-process, the statistics.

The clocks: every instant here is time.perf_counter() (FakeMastodon.publish returns it too),
so a publication and the arrival of its alert are measured on one clock.
"""

from __future__ import annotations

import logging
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.analysis.base import get_scorer  # noqa: E402
from bot.chat.slack.transport import SlackAdapter, delivery_client  # noqa: E402
from bot.config import BrandConfig, Settings, SourceConfig, WatchList, load_settings  # noqa: E402
from bot.runtime import Runtime, build_runtime, start_background  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402

BRAND = "Acme"
CHANNEL = "#latency"  # named in the watch list as users name it
MARKER = re.compile(r"lat-[a-z]-\d{4}")  # the id every published entry carries in its text

# Complaints the lexicon scorer alerts on (checked by `check_all_alert` before each run).
COMPLAINTS = (
    "Acme order {id} arrived broken; the worst service, awful.",
    "Acme lost my parcel {id} again. Horrible support, really disappointed.",
    "My Acme kettle ({id}) is broken after two days. Terrible quality, awful.",
    "Acme charged me twice for order {id}, the worst experience, very bad.",
)


def complaint(entry_id: str, index: int) -> str:
    return COMPLAINTS[index % len(COMPLAINTS)].format(id=entry_id)


def check_all_alert(texts: Sequence[str], threshold: float) -> None:
    """Fail loudly if the scorer would not alert on a text: a missing alert is not latency."""
    verdicts = get_scorer("lexicon").score_many(list(texts))
    quiet = [t for t, v in zip(texts, verdicts, strict=True) if v.attention < threshold]
    if quiet:
        raise SystemExit(f"the lexicon scorer does not alert on {len(quiet)} texts: {quiet[:2]}")


# --- the fake Slack, with arrival times ---------------------------------------------------------
class TimedSlack(FakeSlack):
    """FakeSlack that also notes when each chat.postMessage arrived and which entry it is."""

    def __init__(self) -> None:
        super().__init__(realtime=True)
        self.add_channel(CHANNEL, "C0LATENCY1")
        self.arrived: dict[str, float] = {}  # entry id → perf_counter() of its first alert
        self._arrived_cond = threading.Condition()

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            now = time.perf_counter()
            found = MARKER.search(str(body.get("text", "")))
            if found:
                with self._arrived_cond:
                    self.arrived.setdefault(found.group(0), now)
                    self._arrived_cond.notify_all()
        return super().answer(method, body)

    def wait_arrived(self, ids: Sequence[str], timeout: float) -> bool:
        """Until an alert for every one of `ids` arrived, or `timeout` s."""
        with self._arrived_cond:
            return self._arrived_cond.wait_for(lambda: all(i in self.arrived for i in ids), timeout)


# --- the feed server, with request times --------------------------------------------------------
class TimedFeedServer(FeedServer):
    """FeedServer that notes when each answer to a path was sent (after the body went out)."""

    def __init__(self) -> None:
        self.served: dict[str, list[float]] = {}
        self._served_lock = threading.Condition()
        super().__init__()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        server = self

        class Timed(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                super().do_GET()
                with server._served_lock:
                    server.served.setdefault(self.path, []).append(time.perf_counter())
                    server._served_lock.notify_all()

        return Timed

    def wait_polled(self, paths: Sequence[str], timeout: float) -> bool:
        """Until every path has been requested at least once."""
        with self._served_lock:
            return self._served_lock.wait_for(
                lambda: all(self.served.get(p) for p in paths), timeout
            )

    def first_answer_after(self, path: str, instant: float) -> float | None:
        with self._served_lock:
            return next((t for t in self.served.get(path, []) if t >= instant), None)


@dataclass
class Feed:
    """One local feed: its items (newest first) and a new ETag on every publication."""

    path: str
    items: list[str] = field(default_factory=list)
    generation: int = 0

    def publish(self, server: FeedServer, entry_id: str, text: str, now: datetime) -> None:
        link = f"https://forum.example.com/t/{entry_id}"
        self.items.insert(
            0,
            f"<item><title>{escape(text)}</title><link>{link}</link><guid>{entry_id}</guid>"
            f"<description>{escape(text)}</description>"
            f"<pubDate>{format_datetime(now, usegmt=True)}</pubDate></item>",
        )
        self.generation += 1
        # A new Route object in one assignment: no request sees the new body with the old ETag.
        server.add(self.path, body=self.body(), etag=f'"{self.path}-{self.generation}"')

    def body(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>forum {self.path}</title><link>https://forum.example.com/</link>"
            f"{''.join(self.items)}</channel></rss>"
        ).encode()


# --- the bot ------------------------------------------------------------------------------------
@dataclass
class RunningBot:
    runtime: Runtime
    stop: threading.Event
    threads: list[threading.Thread]

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.runtime.close()


def start_bot(
    slack: FakeSlack, sources: list[SourceConfig], workdir: Path, **settings: object
) -> RunningBot:
    """The real bot as `mentionbot run` starts it (bot/cli.py), minus the Slack listener:
    runtime, poller, outbox and stream threads, delivering with the real Slack adapter."""
    config: Settings = load_settings(
        slack_bot_token="xoxb-latency-bench",
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{workdir / 'latency.db'}",
        scorer="lexicon",
        allow_private_hosts=["127.0.0.1"],
        watch_list=workdir / "unused.toml",
        metrics_port=0,
        ops_channel="",
        **settings,
    )
    watch = WatchList(brand=[BrandConfig(name=BRAND, terms=[BRAND], channel=CHANNEL,
                                         sources=sources)])  # fmt: skip
    adapter = SlackAdapter(delivery_client("xoxb-latency-bench", config.slack.api_url))
    runtime = build_runtime(config, {"slack": adapter}, watch=watch)
    stop = threading.Event()
    return RunningBot(runtime, stop, start_background(runtime, stop))


def quiet_logs() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- figures ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_p95(values: Sequence[float]) -> tuple[float, float]:
    return statistics.median(values) if values else float("nan"), percentile(values, 95)


def fixed_poll_waits(
    published: Sequence[tuple[str, float]], interval: float, draws: int, seed: int
) -> list[float]:
    """Waits for the next poll of a tool polling every `interval` s at a fixed phase per feed,
    over the publication instants of this run; `draws` random phases per feed, pooled."""
    rng = random.Random(seed)
    feeds = sorted({feed for feed, _ in published})
    waits: list[float] = []
    for _ in range(draws):
        phase = {feed: rng.uniform(0, interval) for feed in feeds}
        waits += [(phase[feed] - at) % interval for feed, at in published]
    return waits


# --- streamed sources ---------------------------------------------------------------------------
class StreamFake(Protocol):
    """A local stream server as latency.py drives it."""

    label: str

    def source(self) -> SourceConfig: ...
    def ready(self, timeout: float) -> bool: ...
    def publish(self, entry_id: str, text: str) -> float: ...
    def stop(self) -> None: ...


class MastodonStream:
    """tests/fakes/mastodon_server.py with nothing recorded: only what we publish is sent."""

    label = "Mastodon hashtag stream (SSE)"
    first_id = 113_000_000_000_000_000  # numeric ids that sort after any fixture's

    def __init__(self) -> None:
        from tests.fakes.mastodon_server import FakeMastodon

        self.server = FakeMastodon(tag="acme")
        self.server.recording = []
        self.server.timeline.clear()
        self.server.start()

    def source(self) -> SourceConfig:
        return SourceConfig(
            name="masto-acme", kind="mastodon", instance=self.server.base_url, tag="acme"
        )

    def ready(self, timeout: float) -> bool:
        """The stream is open and the catch-up that follows it was asked for."""
        return self.server.wait_for_streams(1, timeout) and self.server.wait_for_requests(
            "/api/v1/timelines/tag/acme", 1, timeout
        )

    def publish(self, entry_id: str, text: str) -> float:
        from tests.fakes.mastodon_server import make_status

        number = int(entry_id.rsplit("-", 1)[1])
        status = make_status(str(self.first_id + number), f"<p>{escape(text)} #acme</p>")
        return self.server.publish(status)  # perf_counter() when the frame was queued

    def stop(self) -> None:
        self.server.stop()


class BlueskyStream:
    """tests/fakes/jetstream_server.py without its recording: only what we publish is sent."""

    label = "Bluesky Jetstream (WebSocket)"

    def __init__(self) -> None:
        from tests.fakes.jetstream_server import FakeJetstream

        self.server = FakeJetstream()
        self.server.replay = False
        self.server.start()

    def source(self) -> SourceConfig:
        return SourceConfig(name="bluesky", kind="bluesky", url=self.server.url)

    def ready(self, timeout: float) -> bool:
        return self.server.wait_for_connections(1, timeout)

    def publish(self, entry_id: str, text: str) -> float:
        from tests.fakes.jetstream_server import make_post

        return self.server.publish(make_post(text))  # stamped now; perf_counter() when sent

    def stop(self) -> None:
        self.server.stop()


def available_streams() -> list[type[StreamFake]]:
    """The stream fakes whose source and server exist in this checkout."""
    found: list[type[StreamFake]] = []
    if (ROOT / "bot/sources/mastodon.py").exists() and (
        ROOT / "tests/fakes/mastodon_server.py"
    ).exists():
        found.append(MastodonStream)
    if (ROOT / "bot/sources/bluesky.py").exists() and (
        ROOT / "tests/fakes/jetstream_server.py"
    ).exists():
        found.append(BlueskyStream)
    return found

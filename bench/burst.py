"""A burst: 1,000 new mentions in one poll, how soon the first alerts reach chat (issue 15).

The real bot (runtime, poller, pipeline, outbox, Slack adapter, SQLite) polls one local RSS
feed; once it has polled it empty, 1,000 entries mentioning Acme are published in one body (a
story going viral). Measured from the moment the feed answered with them: the first alert, the
10th alert and the 50th at the local fake Slack, and when the whole burst was scored and stored
(the poller's report). The mentions are rows of the shared labelled data (complaints and airline
tweets, so about a third are complaints), or templates when the data is absent.

The baseline is the same bot scoring the burst as one batch (what the pipeline did before:
`burst.CHUNK` set above the burst size), in the same run, for each scorer.

    python bench/burst.py [--entries 1000] [--scorers cascade,e5] [--runs 1]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from _latency_support import (  # noqa: E402
    BRAND,
    CHANNEL,
    Feed,
    RunningBot,
    TimedFeedServer,
    TimedSlack,
    quiet_logs,
)

from bot.analysis import burst, data  # noqa: E402
from bot.chat.slack.transport import SlackAdapter, delivery_client  # noqa: E402
from bot.config import BrandConfig, SourceConfig, WatchList, load_settings  # noqa: E402
from bot.runtime import build_runtime, start_background  # noqa: E402

MARKS = (1, 10, 50)
TEMPLATES = (
    "@Acme my order {n} still hasn't arrived after 6 days, any news?",
    "Acme opens a new distribution centre, hiring {n} people",
    "Loved the new Acme app, delivery {n} was super quick. Thank you!",
)


def texts(n: int) -> list[str]:
    try:
        rows = data.load("complaints").texts + data.load("airline").texts
    except OSError:
        rows = [t.format(n=i) for i in range(n) for t in TEMPLATES]
    step = max(1, len(rows) // n)
    return [f"Acme lat-b-{i:04d}: {rows[i * step]}" for i in range(n)]


class PollDone(logging.Handler):
    """Notes when the poller logged a poll that stored the burst."""

    def __init__(self, entries: int) -> None:
        super().__init__()
        self.entries = entries
        self.at: float | None = None
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        polled = record.getMessage().startswith("polled") and len(args) > 5
        if polled and int(args[5]) >= self.entries:  # type: ignore[call-overload]
            self.at = time.perf_counter()
            self.done.set()


def start_bot(slack: TimedSlack, source: SourceConfig, workdir: Path, scorer: str) -> RunningBot:
    """The real bot as `mentionbot run` starts it, minus the Slack listener, with `scorer`."""
    config = load_settings(
        slack_bot_token="xoxb-burst-bench", slack_api_url=slack.api_url,
        database_url=f"sqlite:///{workdir / 'burst.db'}", scorer=scorer,
        allow_private_hosts=["127.0.0.1"], watch_list=workdir / "unused.toml", metrics_port=0,
        ops_channel="", poll_interval=2, poll_interval_min=2, poll_interval_max=2,
        # The volume bounds (issue 11) would score 200 of the burst and alert 30 a minute: off,
        # so the scoring of the whole burst is what is measured.
        max_new_mentions_per_poll=0, max_alerts_per_brand_per_minute=0,
    )  # fmt: skip
    brand = BrandConfig(name=BRAND, terms=[BRAND], channel=CHANNEL, sources=[source])
    adapter = SlackAdapter(delivery_client("xoxb-burst-bench", config.slack.api_url))
    runtime = build_runtime(config, {"slack": adapter}, watch=WatchList(brand=[brand]))
    stop = threading.Event()
    return RunningBot(runtime, stop, start_background(runtime, stop))


def run(scorer: str, bodies: list[str], one_batch: bool, workdir: Path) -> dict[str, float]:
    server = TimedFeedServer().start()
    slack = TimedSlack().start()
    feed = Feed("/burst.xml")
    server.add(feed.path, body=feed.body(), etag='"burst-0"')
    source = SourceConfig(name="viral", kind="feed", url=server.url(feed.path), interval=2)
    saved = burst.CHUNK
    burst.CHUNK = len(bodies) + 1 if one_batch else saved
    done = PollDone(len(bodies))
    runtime_log = logging.getLogger("bot.runtime")
    runtime_log.addHandler(done)
    runtime_log.setLevel(logging.INFO)
    runtime_log.propagate = False  # the poll reports are read here, not printed
    bot = start_bot(slack, source, workdir, scorer)
    try:
        if not server.wait_polled([feed.path], timeout=60):
            raise SystemExit("the bot did not poll the feed within 60 s")
        published = time.perf_counter()
        # All entries in one body: newest first, as a feed lists them.
        for i, text in enumerate(bodies):
            feed.items.insert(0, _item(i, text))
        feed.generation += 1
        server.add(feed.path, body=feed.body(), etag=f'"burst-{feed.generation}"')
        done.done.wait(600)
        # The first 50 alerts (or all there are); delivery of the rest is the outbox's pace.
        deadline = time.perf_counter() + 60
        while len(slack.arrived) < max(MARKS) and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        bot.close()
        slack.stop()
        server.stop()
        burst.CHUNK = saved
        runtime_log.removeHandler(done)
        runtime_log.propagate = True
    fetched = server.first_answer_after(feed.path, published) or published
    arrivals = sorted(slack.arrived.values())
    out = {f"alert {m}": arrivals[m - 1] - fetched for m in MARKS if len(arrivals) >= m}
    out["all scored"] = (done.at or float("nan")) - fetched
    return out


def _item(i: int, text: str) -> str:
    from email.utils import format_datetime
    from xml.sax.saxutils import escape

    link = f"https://forum.example.com/t/b{i}"
    when = format_datetime(datetime.now(UTC), usegmt=True)
    return (
        f"<item><title>{escape(text[:80])}</title><link>{link}</link><guid>b{i}</guid>"
        f"<description>{escape(text)}</description><pubDate>{when}</pubDate></item>"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--scorers", default="cascade,e5")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    quiet_logs()
    bodies = texts(args.entries)
    print(f"burst of {len(bodies)} mentions in one poll; seconds from the feed's answer")
    print("| scorer | scoring | " + " | ".join(f"alert {m}" for m in MARKS) + " | all scored |")
    print("|---|---|" + "---|" * (len(MARKS) + 1))
    for scorer in [s.strip() for s in args.scorers.split(",") if s.strip()]:
        for one_batch in (True, False):
            runs = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    runs.append(run(scorer, bodies, one_batch, Path(tmp)))
            keys = [f"alert {m}" for m in MARKS] + ["all scored"]
            cells = [
                f"{statistics.median(r[k] for r in runs):.1f}" if all(k in r for r in runs)
                else "-"
                for k in keys
            ]  # fmt: skip
            how = "one batch (before)" if one_batch else "chunks, likeliest first"
            print(f"| {scorer} | {how} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run real `mentionbot run` processes against loopback feeds and the fake Slack, kill them
with SIGKILL at random moments, and check that every negative mention was posted once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from bot.store import open_store
from tests.fakes.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "fault-signing-secret-0123456789"
PROBLEMS = ("arrived broken", "was charged twice", "never shipped", "crashes on login",
            "lost my data", "support ignores me")  # fmt: skip


def write_feeds(folder: Path, feeds: int, per_feed: int) -> int:
    """RSS files full of unmistakable complaints about Acme; returns how many entries."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(feeds):
        items = []
        for i in range(per_feed):
            n = f * per_feed + i
            title = f"Acme order {n} {PROBLEMS[n % len(PROBLEMS)]} and it is terrible"
            items.append(
                f"<item><title>{escape(title)}</title>"
                f"<link>https://forum.example.com/t/{n}</link>"
                f'<guid isPermaLink="false">complaint-{n}</guid>'
                "<pubDate>Tue, 24 Nov 2026 08:00:00 +0000</pubDate>"
                f"<description>{escape('The worst service ever, awful. ' + title)}</description>"
                "</item>"
            )
        (folder / f"feed{f}.rss").write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>feed {f}</title><link>https://forum.example.com/</link>"
            f"<description>complaints</description>{''.join(items)}</channel></rss>",
            encoding="utf-8",
        )
    return feeds * per_feed


def write_watch_list(path: Path, base_url: str, feeds: int, channel: str) -> None:
    sources = "".join(
        f'[[brand.sources]]\nname = "feed{f}"\nurl = "{base_url}/feed{f}.rss"\n\n'
        for f in range(feeds)
    )
    path.write_text(
        f'[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "{channel}"\n\n{sources}',
        encoding="utf-8",
    )


@dataclass
class Replicas:
    """Replica processes of `mentionbot run` sharing one database."""

    env: dict[str, str]
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: int = 0

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            index = len(self.processes)
            log = (self.workdir / f"replica{index}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "run"],
                    cwd=self.workdir,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def kill_one(self, rng: random.Random) -> None:
        """SIGKILL a random live replica and start a fresh one in its place."""
        alive = [p for p in self.processes if p.poll() is None]
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        self.kills += 1
        self.start()

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.workdir.glob("replica*.log"))
        )


def replica_env(fake: FakeSlack, database_url: str, watch_list: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        WATCH_LIST=str(watch_list),
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-fault-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_MODE="http",
        HTTP_HOST="127.0.0.1",
        HTTP_PORT="0",
        SLACK_API_URL=fake.api_url,
        ALLOW_PRIVATE_HOSTS="127.0.0.1",
        POLL_INTERVAL="1",
        FETCH_TIMEOUT="3",
        FETCH_RETRIES="1",
        POLL_LEASE_SECONDS="4",
        DELIVERY_LEASE_SECONDS="4",
        OUTBOX_BATCH="3",
        ALERT_THRESHOLD="0.05",
        SCORER="textblob",
        LOG_LEVEL="WARNING",
    )
    return env


def posted_mention_ids(fake: FakeSlack) -> list[int]:
    return [
        int(c.body["metadata"]["event_payload"]["mention_id"])
        for c in fake.calls_to("chat.postMessage")
        if "metadata" in c.body
    ]


def crash_trial(
    fake: FakeSlack,
    replicas: Replicas,
    expected: int,
    rng: random.Random,
    *,
    kills: int,
    database_url: str,
    timeout: float = 90.0,
) -> list[int]:
    """Kill a replica `kills` times, each just after a random number of alerts went out
    (mid-delivery) or at a random moment (mid-poll); then wait for all alerts."""
    stop = threading.Event()
    for _ in range(kills):
        if rng.random() < 0.5:
            target = rng.randint(1, max(1, expected - 1))
            try:
                fake.wait_for("chat.postMessage", count=target, timeout=timeout)
            except AssertionError:
                break
        else:
            stop.wait(rng.uniform(0.05, 1.5))  # a random moment: the fault, not a sync
        replicas.kill_one(rng)
    fake.wait_for("chat.postMessage", count=expected, timeout=timeout)
    # Slack has them all; an alert posted just before a kill is recorded only once a
    # restarted replica has found it in the channel. Wait for the store to agree.
    wait_until(lambda: pending_alerts(database_url) == 0, timeout=timeout)
    replicas.stop()
    return posted_mention_ids(fake)


def pending_alerts(database_url: str) -> int:
    store = open_store(database_url)
    try:
        return store.pending_count()
    finally:
        store.close()


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.2) -> None:
    """Check `condition` until it holds; an AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout} s")
        tick.wait(every)

"""Fast takeover: two `mentionbot run` replicas on PostgreSQL; the one polling a feed is
killed (SIGKILL) while its poll hangs, and the other polls that feed within seconds (one
short lease), not after POLL_LEASE_SECONDS of the old kind (300 s)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.feed_server import FeedServer
from tests.faults.harness import Replicas, replica_env, wait_until

LEASE_SECONDS = 3
RSS = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>f</title><item>"
    b"<title>Acme order 1 arrived broken and it is terrible</title><guid>takeover-1</guid>"
    b"<link>https://forum.example.com/t/1</link><description>The worst service, awful."
    b"</description></item></channel></rss>"
)


@pytest.mark.postgres
def test_a_feed_held_by_a_replica_killed_mid_poll_is_polled_by_another_within_seconds(
    fake_slack: FakeSlack, tmp_path: Path, pg_url: str
) -> None:
    release = threading.Event()
    calls: list[float] = []

    def first_hangs() -> Iterator[bytes]:
        calls.append(time.monotonic())
        if len(calls) == 1:
            release.wait(120)  # the poll in progress when its replica is killed
        yield RSS

    server = FeedServer().start()
    url = server.add("/feed", stream=first_hangs)
    watch = tmp_path / "watch.toml"
    watch.write_text(
        f'[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "#faults"\n\n'
        f'[[brand.sources]]\nname = "feed"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    env = replica_env(fake_slack, pg_url, watch)
    env.update(POLL_LEASE_SECONDS=str(LEASE_SECONDS), FETCH_TIMEOUT="120", FETCH_RETRIES="1")
    group = Replicas(env, tmp_path)
    group.start(2)
    try:
        wait_until(lambda: len(calls) == 1, timeout=90)
        holder = lease_holder(pg_url)
        victim = next(p for p in group.processes if f":{p.pid}:" in holder)
        wait_until(lambda: lease_holder(pg_url) == holder, timeout=10)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed = time.monotonic()
        wait_until(lambda: len(calls) >= 2, timeout=60)
        took = calls[1] - killed
        # One lease (renewed every third of it until the kill) and the schedule's jitter.
        assert took < LEASE_SECONDS + 3, f"taken over after {took:.1f} s\n{group.logs()}"
        fake_slack.wait_for("chat.postMessage", count=1, timeout=60)
    finally:
        release.set()
        group.stop()
        server.stop()


def lease_holder(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT holder FROM feed_leases WHERE source = 'feed'").fetchone()
    return str(row[0]) if row else ""

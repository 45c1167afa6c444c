"""Bounded volume: at most N new mentions per poll are scored and may alert, at most M
alerts per brand per minute across replicas; what is held back is stored, searchable, and
told once in one summary per brand, even after a restart."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.analysis import get_scorer
from bot.chat.console import ConsoleAdapter
from bot.config import load_settings, load_watch_list
from bot.matching import TermSet
from bot.models import RawEntry, Route
from bot.pipeline import BrandRule, Pipeline
from bot.runtime import after_polls, build_runtime
from bot.store import MentionQuery, Store, open_store
from bot.store.base import HeldBack
from bot.volume import hand_off_held_back, summarise
from tests.conftest import Clock
from tests.fakes.feed_server import FeedServer

RULE = BrandRule(
    "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.05
)
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def complaints(count: int, source: str = "news", host: str = "news.example.com") -> list[RawEntry]:
    return [
        RawEntry(
            source=source,
            external_id=f"{source}-{i}",
            url=f"https://www.{host}/story/{source}/{i}",
            title="",
            text=f"Acme broke order {source} {i}, terrible service, the worst, awful #{i}",
            author=f"user{i}",
            published_at=START - timedelta(minutes=count - i),  # later i: newer
        )
        for i in range(count)
    ]


def test_only_the_newest_n_of_a_poll_are_scored_the_rest_stored_and_searchable(
    store: Store, clock: Clock
) -> None:
    pipeline = Pipeline(store, get_scorer("textblob"), clock, max_new_per_poll=5)
    report = pipeline.process(RULE, complaints(12))
    assert (report.matched, report.stored, report.alerts, report.held_back) == (12, 12, 5, 7)
    alerted = {m.external_id for m in store.find_mentions(MentionQuery(flagged_only=True))}
    assert alerted == {f"news-{i}" for i in range(7, 12)}  # the five newest
    held = store.find_mentions(MentionQuery(words=("order",), limit=50))
    assert len(held) == 12 and store.pending_count() == 5
    unscored = [m for m in held if m.verdict.scorer == "held-back"]
    assert len(unscored) == 7 and all("not scored" in m.verdict.reason for m in unscored)
    [record] = store.take_held_back(now=clock.advance(60), settle=timedelta(minutes=1))
    assert (record.reason, record.limit, record.mentions) == ("per_poll", 5, 7)
    assert record.hosts == {"news.example.com": 7}


def test_at_most_m_alerts_per_brand_per_minute_then_more_the_next_minute(
    store: Store, clock: Clock
) -> None:
    pipeline = Pipeline(store, get_scorer("textblob"), clock, max_alerts_per_minute=3)
    first = pipeline.process(RULE, complaints(5, "a"))
    assert (first.stored, first.alerts, first.held_back) == (5, 3, 2)
    clock.advance(30)
    assert pipeline.process(RULE, complaints(2, "b")).alerts == 0  # same minute
    clock.advance(31)
    assert pipeline.process(RULE, complaints(4, "c")).alerts == 3  # a minute after the first
    assert store.pending_count() == 6
    held = store.take_held_back(now=clock(), settle=timedelta(0))
    assert sorted(r.mentions for r in held) == [1, 2, 2] and {r.reason for r in held} == {
        "per_minute"
    }


def test_replicas_share_one_budget_of_alerts_per_brand(database_url: str, clock: Clock) -> None:
    stores = [open_store(database_url) for _ in range(3)]
    results: list[int] = []
    barrier = threading.Barrier(len(stores))

    def replica(index: int) -> None:
        pipeline = Pipeline(stores[index], get_scorer("textblob"), clock, max_alerts_per_minute=4)
        barrier.wait()
        results.append(pipeline.process(RULE, complaints(5, f"r{index}")).alerts)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(stores))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(results) == 4 and stores[0].pending_count() == 4
        assert (
            sum(r.mentions for r in stores[0].take_held_back(now=clock(), settle=timedelta(0)))
            == 11
        )
    finally:
        for s in stores:
            s.close()


def test_held_back_records_are_handed_out_once_across_replicas_after_they_settle(
    database_url: str, clock: Clock
) -> None:
    stores = [open_store(database_url) for _ in range(3)]
    try:
        pipeline = Pipeline(stores[0], get_scorer("textblob"), clock, max_new_per_poll=1)
        for n in range(4):
            pipeline.process(RULE, complaints(3, f"s{n}"))
        assert stores[1].take_held_back(now=clock.advance(30), settle=timedelta(minutes=1)) == []
        taken: list[list[HeldBack]] = [[] for _ in stores]
        barrier = threading.Barrier(len(stores))

        def take(index: int) -> None:
            barrier.wait()
            taken[index] = stores[index].take_held_back(
                now=clock() + timedelta(seconds=31), settle=timedelta(minutes=1)
            )

        threads = [threading.Thread(target=take, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        ids = [r.id for records in taken for r in records]
        assert len(ids) == 4 == len(set(ids))  # each record to exactly one replica
    finally:
        for s in stores:
            s.close()


def record(**fields: object) -> HeldBack:
    values: dict[str, object] = dict(
        id=1, brand="Acme", channel="C1", source="news", reason="per_poll", limit=200,
        mentions=312, hosts={"news.example.com": 312}, first_at=START, last_at=START,
    )  # fmt: skip
    values.update(fields)
    return HeldBack(**values)  # type: ignore[arg-type]


def test_a_summary_says_how_many_of_which_brand_from_where_why_and_how_to_find_them() -> None:
    [notice] = summarise([record()], START + timedelta(seconds=60))
    assert notice.channel == "C1" and notice.record_ids == (1,)
    assert notice.text == (
        "312 more mentions of Acme in the last minute from news.example.com were stored "
        "without an alert (more than 200 new in one poll of a source). To see them: "
        "/mentions search source:news since:1h."
    )


def test_a_summary_merges_a_brands_records_and_names_the_busiest_sites() -> None:
    records = [
        record(),
        record(id=2, source="blog", reason="per_minute", limit=30, mentions=5,
               hosts={"blog.example.org": 4, "x.example": 1},
               first_at=START - timedelta(minutes=9)),
        record(id=3, brand="Globex", channel="C2", mentions=1, hosts={"g.example": 1}),
    ]  # fmt: skip
    acme, globex = summarise(records, START + timedelta(minutes=1))
    assert acme.text.startswith("317 more mentions of Acme in the last 10 minutes from ")
    assert "from news.example.com, blog.example.org and 1 other site" in acme.text
    assert "more than 200 new in one poll of a source and over 30 alerts a minute for Acme" in (
        acme.text
    )
    assert "source:news since:1h; /mentions search source:blog since:1h" in acme.text
    assert globex.text.startswith("1 more mention of Globex") and globex.channel == "C2"
    for text in (acme.text, globex.text):  # plain text: no chat markup
        assert not set(text) & set("*_`<>~")


def test_a_notice_that_cannot_be_posted_is_given_back_for_next_time(
    sqlite_store: Store, clock: Clock
) -> None:
    Pipeline(sqlite_store, get_scorer("textblob"), clock, max_new_per_poll=1).process(
        RULE, complaints(4)
    )

    def down(channel: str, text: str) -> None:
        raise ConnectionError("chat is down")

    later = clock.advance(61)
    assert hand_off_held_back(sqlite_store, down, later) == []
    posted: list[tuple[str, str]] = []
    assert len(hand_off_held_back(sqlite_store, lambda c, t: posted.append((c, t)), later)) == 1
    assert hand_off_held_back(sqlite_store, lambda c, t: posted.append((c, t)), later) == []
    assert [c for c, _ in posted] == ["slack:#alerts"] and "3 more mentions of Acme" in posted[0][1]


def test_the_poll_loop_queues_the_summary_for_the_brands_channel_even_after_a_restart(
    tmp_path: Path, feed_server: FeedServer, clock: Clock
) -> None:
    items = "".join(
        f"<item><title>Acme order {i} broke, terrible</title><guid>g{i}</guid>"
        f"<link>https://news.example.com/{i}</link><description>Awful, the worst.</description>"
        "</item>"
        for i in range(8)
    )
    url = feed_server.add(
        "/feed", body=f"<rss version='2.0'><channel>{items}</channel></rss>".encode()
    )
    watch = tmp_path / "watch.toml"
    watch.write_text(
        f'[[brand]]\nname = "Acme"\nterms = ["acme"]\nchannel = "C0ACME"\n\n'
        f'[[brand.sources]]\nname = "news"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'bot.db'}", scorer="textblob", alert_threshold=0.05,
        allow_private_hosts=["127.0.0.1"], max_new_mentions_per_poll=3,
    )  # fmt: skip
    first = build_runtime(settings, ConsoleAdapter(io.StringIO()), clock=clock,
                          watch=load_watch_list(watch))  # fmt: skip
    try:
        report = first.poller.poll_once()
        assert (report.pipeline.alerts, report.pipeline.held_back) == (3, 5)
    finally:
        first.close()
    out = io.StringIO()
    clock.advance(61)
    second = build_runtime(settings, ConsoleAdapter(out), clock=clock, watch=load_watch_list(watch))
    try:
        after_polls(second, second.poller.take_report(), hinted=False)
        after_polls(second, second.poller.take_report(), hinted=False)  # told once
        assert second.outbox.deliver_due().notices == 1  # queued, sent like an alert
    finally:
        second.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("ℹ")]  # notices
    assert len(lines) == 1 and "#C0ACME" in lines[0]
    assert "5 more mentions of Acme in the last minute from news.example.com" in lines[0]
    assert "/mentions search source:news since:1h" in lines[0]

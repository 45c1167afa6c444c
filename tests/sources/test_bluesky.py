"""The Bluesky source against a fake Jetstream on 127.0.0.1: which events become entries and
with what fields, the resume after a drop (through the real runtime, pipeline and a SQLite
store), bad frames, stop, the URL guard and check()."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.config import Settings, SourceConfig, load_settings
from bot.http import HttpFetcher
from bot.models import RawEntry
from bot.sources.base import SourceError
from bot.sources.bluesky import JetstreamSource, build
from bot.sources.jetstream_events import Malformed, post_to_entry, published_at, subscribe_url
from bot.store import MentionQuery
from tests.fakes.jetstream_server import FIXTURES, FakeJetstream, make_post
from tests.fakes.jetstream_server import jetstream_server as jetstream_server  # the fixture
from tests.fakes.stream_harness import Collector as StreamCollector
from tests.fakes.stream_harness import Running, StoredStream, running_fixture

RECORDING = FIXTURES / "posts.jsonl"
FIRST_US = 1795597200114203  # the identity event that opens the recording
LAST_US = 1795597222614988  # the last event of the recording
MATCHING = [  # the recording's posts that mention Acme, in stream order
    "did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbqx2kfnc22a",
    "did:plc:vpkhqolt662uhesyj6nxm7ys/app.bsky.feed.post/3lbqx2nqjm72b",
    "did:plc:oky5czdrnfjpqslsw2a5iclo/app.bsky.feed.post/3lbqx2zkqxc2i",
    "did:plc:4uz2445cjiw7w4nobfgnu35f/app.bsky.feed.post/3lbqx37tf2s2l",
    "did:plc:x3j2yq4b5q3pl3gtwrxkvzmw/app.bsky.feed.post/3lbqx39wmgc2m",
]
OTHER_POSTS = [  # posts with text that do not
    "did:plc:2ejzdxrxavvu5vnuwqvn5lmi/app.bsky.feed.post/3lbqx2ptn7k2d",
    "did:plc:7kdhxwbvfh2z4ct5k5q4gufb/app.bsky.feed.post/3lbqx2xhm5k2h",
]


POST_TIMES = {
    f"{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}": e["time_us"]
    for e in map(json.loads, RECORDING.read_text().splitlines()[8:])  # past the broken line
    if e.get("kind") == "commit"
} | {
    MATCHING[0]: 1795597201615122,
    MATCHING[1]: 1795597204614960,
}


def acme(text: str) -> bool:
    return "acme" in text.lower()


def make_source(
    server: FakeJetstream,
    settings: Settings,
    fetcher: HttpFetcher,
    matches: Callable[[str], bool] | None = acme,
    **tuning: float,
) -> JetstreamSource:
    source = build(SourceConfig(name="bsky", kind="bluesky", url=server.url), settings, fetcher,
                   matches=matches)  # fmt: skip
    fast = {"backoff_base": 0.05, "backoff_max": 0.5}
    source.tuning = replace(source.tuning, **(fast | tuning))  # type: ignore[arg-type]
    return source


class Collector(StreamCollector):
    """Jetstream's cursor is a number; ids are compared without the at:// prefix."""

    @property
    def cursor(self) -> int:
        return int(self.batches[-1][1]) if self.batches else 0

    def ids(self) -> list[str]:
        return [e.external_id.removeprefix("at://") for e in self.entries]


running = running_fixture(Collector)


def skipped(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "mentionbot_bluesky_skipped_events_total", {"source": "bsky", "reason": reason}
    )
    return value or 0.0


class LogEvent(logging.Handler):
    """Sets an event when a record containing `text` is logged (a wait without sleeping)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.seen = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


# ---- entries --------------------------------------------------------------------------------


def test_matching_posts_become_entries_with_uri_url_text_author_and_time(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    run = running(make_source(jetstream_server, settings, fetcher))
    assert run.emit.wait(lambda c: c.cursor == LAST_US)
    assert run.emit.ids() == MATCHING
    by_id = {e.external_id: e for e in run.emit.entries}
    english = by_id["at://" + MATCHING[0]]
    assert english.url == (
        "https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz/post/3lbqx2kfnc22a"
    )
    assert english.text == (
        "My Acme router died again and support hung up on me. Third time this month. Not happy."
    )
    assert english.author == "did:plc:ewvi7nxzyoun6zhxrhs64oiz" and english.source == "bsky"
    assert english.title == ""
    assert english.published_at == datetime(2026, 11, 25, 9, 0, 1, 320000, tzinfo=UTC)
    dutch = by_id["at://" + MATCHING[4]]
    assert dutch.text == (
        "Eindelijk opgelost: de Acme helpdesk belde terug en alles werkt weer.\nTop service!"
    )
    # an unreadable createdAt: the moment Jetstream saw the post
    unreadable = by_id["at://" + MATCHING[2]]
    assert unreadable.published_at == datetime.fromtimestamp(1795597216614312 / 1e6, UTC)
    # not one emit per event (16 of them): the matches, and the cursor alone now and then
    assert len(run.emit.batches) <= len(MATCHING) + 2


def test_deletes_likes_updates_identity_and_account_events_are_skipped_but_advance_the_cursor(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    source = make_source(jetstream_server, settings, fetcher, matches=None, save_every=0.1)
    run = running(source)
    assert run.emit.wait(lambda c: c.cursor == LAST_US)
    # without a matcher every post with text is handed on; nothing else is
    assert sorted(run.emit.ids()) == sorted(MATCHING + OTHER_POSTS)
    # a post that does not match is not handed on, yet the cursor moves past it
    filtered = make_source(jetstream_server, settings, fetcher, save_every=0.1)
    run = running(filtered)
    assert run.emit.wait(lambda c: c.cursor == LAST_US)
    quiet = make_post("Nothing to see here, just lunch.")
    jetstream_server.publish(quiet)
    assert run.emit.wait(lambda c: c.cursor == quiet["time_us"])
    assert run.emit.ids() == MATCHING


def test_a_drop_mid_stream_resumes_from_the_rewound_cursor_with_nothing_lost_or_stored_twice(
    jetstream_server: FakeJetstream, tmp_path: Path
) -> None:
    """Through the real runtime: brand matcher, pipeline, SQLite store, saved cursor."""
    config = SourceConfig(name="bsky", kind="bluesky", url=jetstream_server.url)
    stored = Collector()  # sees each batch after run_stream's emit has stored it
    stream = StoredStream(tmp_path, config, stored)
    assert isinstance(stream.source, JetstreamSource)
    stream.source.tuning = replace(stream.source.tuning, backoff_base=0.05, backoff_max=0.5)
    # identity, the English complaint, a like, the Dutch complaint, then the line goes dead
    jetstream_server.drop_after = 4
    stream.start()
    try:
        assert jetstream_server.wait_for_connections(2)  # dropped, and connected again
        assert stored.wait(lambda c: c.cursor == LAST_US)
        live = make_post("Acme support finally called back, thanks!", langs=("en",))
        jetstream_server.publish(live)
        assert stored.wait(lambda c: c.cursor == live["time_us"])
    finally:
        stream.end()
    dutch_us = 1795597204614960  # the last event read before the drop
    first, second = jetstream_server.cursors()
    assert first is None  # a new source starts from the live tail
    assert second == dutch_us - 5_000_000  # rewound five seconds, as Jetstream advises
    with stream.reopened() as reopened:
        mentions = reopened.store.find_mentions(MentionQuery())
        assert reopened.store.feed_state("bsky").cursor == str(live["time_us"])
    expected = sorted([*MATCHING, f"{live['did']}/app.bsky.feed.post/{live['commit']['rkey']}"])
    assert sorted(m.external_id.removeprefix("at://") for m in mentions) == expected
    assert sorted(stored.ids()) == expected  # and the replay handed nothing on twice


def test_a_restart_resumes_from_the_saved_cursor_rewound(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    saved = 1795597216614312  # the "Is the Acme app down" post
    run = running(make_source(jetstream_server, settings, fetcher), str(saved))
    assert run.emit.wait(lambda c: c.cursor == LAST_US)
    assert jetstream_server.cursors() == [saved - 5_000_000]
    # replayed events before the saved cursor are not handed on again; the one at it is
    assert run.emit.ids() == MATCHING[2:]


def test_an_event_older_than_the_cursor_is_still_handed_on_and_the_cursor_never_goes_back(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    jetstream_server.replay = False
    run = running(make_source(jetstream_server, settings, fetcher))
    assert jetstream_server.wait_for_connections(1)
    newer = make_post("Acme, first to arrive")
    jetstream_server.publish(newer)
    assert run.emit.wait(lambda c: c.cursor == newer["time_us"])
    # Jetstream orders by time only roughly: an event may arrive after a later one
    late = make_post("Acme, stamped a little earlier", time_us=newer["time_us"] - 3000)
    jetstream_server.publish(late, now=False)
    assert run.emit.wait(lambda c: len(c.entries) == 2)
    assert run.emit.cursor == newer["time_us"]


def test_a_batch_the_store_refused_is_never_skipped_by_a_later_cursor(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher
) -> None:
    stored = Collector()
    refused: list[Exception] = []

    def flaky(entries: Sequence[RawEntry], cursor: str) -> None:
        if entries and not refused:
            refused.append(sqlite3.OperationalError("database is locked"))
            raise refused[0]
        stored(entries, cursor)

    source = make_source(jetstream_server, settings, fetcher)
    with pytest.raises(sqlite3.OperationalError):  # run_stream logs it and starts run again
        source.run(flaky, "", threading.Event())
    assert refused and stored.ids()
    assert stored.cursor == source.cursor
    # every match up to the saved cursor was stored: the refused batch went out after all
    assert stored.ids() == [m for m in MATCHING if POST_TIMES[m] <= stored.cursor]


# ---- bad input, stop, backoff ---------------------------------------------------------------


def test_malformed_oversized_and_unknown_frames_are_counted_and_the_stream_goes_on(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    jetstream_server.replay = False
    source = make_source(jetstream_server, settings, fetcher, max_event_bytes=4000)
    run = running(source)
    assert jetstream_server.wait_for_connections(1)
    before = {r: skipped(r) for r in ("malformed", "oversized", "unknown_kind")}
    jetstream_server.publish_raw("not json at all")
    jetstream_server.publish_raw("[1, 2]")
    jetstream_server.publish_raw('{"time_us": 5}')  # no kind
    bad_rkey = make_post("Acme", rkey="../../etc/passwd")
    jetstream_server.publish(bad_rkey)
    jetstream_server.publish(make_post("Acme " + "x" * 6000))  # over our cap: skipped here
    jetstream_server.publish({"did": "did:plc:a", "time_us": 1, "kind": "labels"})
    good = make_post("still listening, Acme")
    jetstream_server.publish(good)
    assert run.emit.wait(lambda c: c.cursor == good["time_us"])
    assert run.emit.ids() == [f"{good['did']}/app.bsky.feed.post/{good['commit']['rkey']}"]
    assert skipped("malformed") == before["malformed"] + 4
    assert skipped("oversized") == before["oversized"] + 1
    assert skipped("unknown_kind") == before["unknown_kind"] + 1
    assert len(jetstream_server.queries) == 1  # skipped, not reconnected

    # Over the connection's own limit (4 x the cap) websockets closes the connection; the
    # source resumes just past the last event it read, so the frame is not replayed forever.
    huge = make_post("Acme " + "y" * 20_000, time_us=good["time_us"] + 500)
    jetstream_server.publish(huge, now=False)
    assert jetstream_server.wait_for_connections(2)
    after = make_post("back again, Acme")
    jetstream_server.publish(after)
    assert run.emit.wait(lambda c: c.cursor == after["time_us"])
    assert skipped("oversized") == before["oversized"] + 2
    assert jetstream_server.cursors()[1] == good["time_us"] + 1000
    assert len(run.emit.ids()) == 2


def test_stop_ends_run_within_a_second(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher
) -> None:
    jetstream_server.replay = False  # connected, and nothing to say
    run = Running(make_source(jetstream_server, settings, fetcher))
    assert jetstream_server.wait_for_connections(1)
    assert run.end() < 1.0


def test_refused_handshakes_are_retried_with_backoff_and_retry_after_is_honoured(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    jetstream_server.refusals = [(503, {}), (429, {"Retry-After": "1"}), (502, {})]
    run = running(make_source(jetstream_server, settings, fetcher))
    assert run.emit.wait(lambda c: c.cursor == LAST_US)
    assert run.emit.ids() == MATCHING
    first, second, third, fourth = jetstream_server.handshakes
    assert third - second >= 1.0  # as the 429 asked
    assert second - first < 1.0 and fourth - third < 1.0  # the (fast) backoff otherwise


def test_backoff_grows_with_failures_and_has_jitter(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher
) -> None:
    source = make_source(jetstream_server, settings, fetcher, backoff_base=1.0, backoff_max=60)
    source.rng = lambda: 0.0
    assert [source._backoff(n) for n in (1, 2, 3, 8, 20)] == [0.5, 1.0, 2.0, 30.0, 30.0]
    source.rng = lambda: 1.0
    assert source._backoff(3) == 4.0


def test_the_url_guard_refuses_a_private_host_that_is_not_allowed(
    jetstream_server: FakeJetstream,
) -> None:
    settings = load_settings(allow_private_hosts=[])
    fetcher = HttpFetcher.from_settings(settings)
    watcher = LogEvent("refused 127.0.0.1")
    logging.getLogger("bot.sources.bluesky").addHandler(watcher)
    try:
        source = make_source(jetstream_server, settings, fetcher)
        with pytest.raises(SourceError, match="internal address") as refused:
            source.check()
        assert refused.value.permanent
        run = Running(source)
        assert watcher.seen.wait(10)
        assert run.end() < 1.0  # waiting out the long backoff of a refusal, but stoppable
    finally:
        logging.getLogger("bot.sources.bluesky").removeHandler(watcher)
        fetcher.close()
    assert jetstream_server.queries == []  # nothing ever reached the server


# ---- check ----------------------------------------------------------------------------------


def test_check_connects_and_reports_the_first_event(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher
) -> None:
    report = make_source(jetstream_server, settings, fetcher).check()
    assert report.startswith(f"connected to jetstream {jetstream_server.url} in ")
    assert "; first event 0." in report
    assert jetstream_server.queries[0]["wantedCollections"] == ["app.bsky.feed.post"]


def test_check_fails_when_no_event_arrives(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher
) -> None:
    jetstream_server.replay = False
    source = make_source(jetstream_server, settings, fetcher, check_timeout=0.3)
    with pytest.raises(SourceError, match="no event within"):
        source.check()


# ---- pure parts -----------------------------------------------------------------------------


def test_subscribe_url_asks_for_posts_our_cap_and_the_cursor_and_keeps_other_options() -> None:
    url = subscribe_url(
        "wss://js.example/subscribe?wantedDids=did:plc:a&cursor=1&wantedCollections=x", 42, 1000
    )
    assert url == (
        "wss://js.example/subscribe?wantedDids=did%3Aplc%3Aa&wantedCollections=app.bsky.feed.post"
        "&maxMessageSizeBytes=1000&cursor=42"
    )
    assert subscribe_url("https://js.example", None, 5).startswith("wss://js.example/subscribe?")


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2026-11-25T09:00:01.320Z", datetime(2026, 11, 25, 9, 0, 1, 320000, tzinfo=UTC)),
        ("2026-11-25T10:00:01+01:00", datetime(2026, 11, 25, 9, 0, 1, tzinfo=UTC)),
        ("2026-11-25T09:00:01", datetime(2026, 11, 25, 9, 0, 1, tzinfo=UTC)),  # naive: UTC
        ("2031-01-01T00:00:00Z", datetime(2026, 11, 25, 9, 0, 2, tzinfo=UTC)),  # future
        ("soon", datetime(2026, 11, 25, 9, 0, 2, tzinfo=UTC)),
        (None, datetime(2026, 11, 25, 9, 0, 2, tzinfo=UTC)),
    ],
)
def test_published_at_trusts_created_at_unless_unreadable_or_in_the_future(
    created_at: object, expected: datetime
) -> None:
    seen_us = int(datetime(2026, 11, 25, 9, 0, 2, tzinfo=UTC).timestamp() * 1_000_000)
    assert published_at(created_at, seen_us) == expected


def test_a_post_with_a_did_or_rkey_unfit_for_a_url_is_malformed() -> None:
    event = make_post("Acme", rkey="3lbqx2kfnc22a")
    event["did"] = "did:plc:a/../../x?y"
    with pytest.raises(Malformed, match="did"):
        post_to_entry("bsky", json.loads(json.dumps(event)))


def test_a_silent_or_dripping_stream_is_cut_and_reconnected(
    jetstream_server: FakeJetstream, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    jetstream_server.replay = False  # connected, and nothing to say: not a live firehose
    running(make_source(jetstream_server, settings, fetcher, idle_timeout=0.5))
    assert jetstream_server.wait_for_connections(3)  # cut after half a second, each time

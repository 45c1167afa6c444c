"""The Mastodon source against a fake instance on 127.0.0.1: the hashtag stream, the catch-up
after a drop (through the real pipeline and a SQLite store), the fallbacks to the tag timeline
and the tag RSS feed, bad events, stop, and check()."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.config import Settings, SourceConfig
from bot.http import HttpFetcher
from bot.sources.base import SourceError
from bot.sources.mastodon import MastodonSource, build
from bot.sources.mastodon_api import id_key, link_min_id, streaming_base
from bot.sources.sse import SseDecoder, SseEvent
from bot.store import MentionQuery
from tests.fakes.mastodon_server import FakeMastodon, make_status
from tests.fakes.mastodon_server import mastodon_server as mastodon_server  # the fixture
from tests.fakes.stream_harness import Collector, Running, StoredStream, running_fixture

TOKEN = "masto-user-token-0123456789abcdef"
HISTORY = ["113559700000000003", "113559800000000002", "113560000000000001"]
URI = "https://mastodon.example/users/dana/statuses/"


def make_source(
    server: FakeMastodon,
    settings: Settings,
    fetcher: HttpFetcher,
    token_env: str = "",
    **tuning: float,
) -> MastodonSource:
    config = SourceConfig(
        name="masto", kind="mastodon", instance=server.base_url, tag="acme", token_env=token_env
    )
    source = build(config, settings, fetcher)
    fast = {"backoff_base": 0.05, "backoff_max": 0.5, "poll_interval": 0.1, "stream_retry": 60.0}
    source.tuning = replace(source.tuning, **(fast | tuning))  # type: ignore[arg-type]
    return source


running = running_fixture()


def malformed_count() -> float:
    value = REGISTRY.get_sample_value(
        "mentionbot_mastodon_malformed_events_total", {"source": "masto"}
    )
    return value or 0.0


def test_stream_updates_become_entries_with_plain_text_author_and_time(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    before = malformed_count()
    run = running(make_source(mastodon_server, settings, fetcher), HISTORY[-1])
    assert run.emit.wait(lambda c: c.cursor == "113560100000000015")
    by_id = {e.external_id: e for e in run.emit.entries}
    english = by_id[URI + "113560100000000011"]
    assert english.text == (
        "My #Acme router died again & support hung up on me. Third time this month."
    )
    assert english.url == "https://mastodon.example/@dana/113560100000000011"
    assert english.author == "dana" and english.source == "masto"
    assert english.published_at is not None and english.published_at.isoformat() == (
        "2026-11-25T09:01:02.114000+00:00"
    )
    dutch = by_id["https://mastodon.nl.example/users/piet/statuses/113560100000000012"]
    assert dutch.text.startswith("Bestelling bij #Acme al twee weken onderweg …")
    assert dutch.author == "piet@mastodon.nl.example"
    # a boost stands for the boosted status, under its own uri and author
    boosted = by_id["https://fosstodon.example/users/sysadmin/statuses/113560099000000009"]
    assert boosted.author == "sysadmin@fosstodon.example" and "firmware 2.1" in boosted.text
    warned = by_id[URI + "113560100000000015"]
    assert warned.text.startswith("Acme billing rant\n\nLong rant about #Acme billing")
    assert all("<" not in e.text for e in run.emit.entries)
    # the delete, the edit and the cut-off update add nothing; each status comes once
    assert len(run.emit.ids()) == len(set(run.emit.ids())) == 4
    assert malformed_count() == before + 1


def test_token_is_sent_as_bearer_and_never_logged(
    mastodon_server: FakeMastodon,
    settings: Settings,
    fetcher: HttpFetcher,
    running,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MASTO_TOKEN", TOKEN)
    mastodon_server.token = TOKEN
    source = make_source(mastodon_server, settings, fetcher, token_env="MASTO_TOKEN")
    assert source.limits.needs == ("MASTO_TOKEN",)
    run = running(source, HISTORY[-1])
    assert run.emit.wait(lambda c: c.cursor == "113560100000000015")
    [stream] = mastodon_server.requests_to("/api/v1/streaming/hashtag")
    assert stream.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in stream.query  # never in a URL, where logs would keep it
    run.end()
    assert TOKEN not in caplog.text
    assert "streaming #acme" in caplog.text


def test_a_drop_mid_stream_is_caught_up_with_nothing_lost_or_stored_twice(
    mastodon_server: FakeMastodon, tmp_path: Path
) -> None:
    """Through the real runtime: pipeline, SQLite store, cursor saved after each batch."""
    config = SourceConfig(name="masto", kind="mastodon", instance=mastodon_server.base_url,
                          tag="acme")  # fmt: skip
    stored = Collector()  # sees each batch after run_stream's emit has stored it
    stream = StoredStream(tmp_path, config, stored)
    assert isinstance(stream.source, MastodonSource)
    stream.source.tuning = replace(stream.source.tuning, backoff_base=0.05, backoff_max=0.5)
    mastodon_server.drop_after = 2  # the English and Dutch updates, then the line goes dead
    stream.start()
    try:
        assert mastodon_server.wait_for_streams(2)  # dropped, and connected again
        assert stored.wait(lambda c: c.cursor == "113560100000000015")
        live = make_status("113560300000000001", "<p>Is <b>Acme</b> down again?</p>")
        mastodon_server.publish(live)
        assert stored.wait(lambda c: c.cursor == live["id"])
    finally:
        stream.end()
    # the boost and the content-warning post were sent while we were away: found by catch-up
    catch_up = [r.query.get("min_id") for r in mastodon_server.requests_to(
        "/api/v1/timelines/tag/acme")]  # fmt: skip
    assert "113560100000000012" in catch_up
    with stream.reopened() as reopened:
        mentions = reopened.store.find_mentions(MentionQuery())
        assert reopened.store.feed_state("masto").cursor == live["id"]
    ids = sorted(m.external_id.rsplit("/", 1)[-1] for m in mentions)
    assert ids == sorted(
        [*HISTORY, "113560099000000009", "113560100000000011", "113560100000000012",
         "113560100000000015", live["id"]]
    )  # fmt: skip
    assert len(stored.ids()) == len(ids)  # and nothing was even handed on twice


def test_refused_stream_falls_back_to_the_timeline_then_rss_and_says_so_once(
    mastodon_server: FakeMastodon,
    settings: Settings,
    fetcher: HttpFetcher,
    running,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mastodon_server.token = TOKEN  # Mastodon >= 4.2: no hashtag stream without a user token
    mastodon_server.recording = []
    run = running(make_source(mastodon_server, settings, fetcher))
    assert run.emit.wait(lambda c: sorted(c.ids()) == sorted(URI_OF[i] for i in HISTORY))
    assert mastodon_server.wait_for_requests(TIMELINE, 3)
    first = make_status("113560400000000001", "<p>#acme via the timeline</p>")
    mastodon_server.publish(first)
    assert run.emit.wait(lambda c: c.cursor == first["id"])
    timeline_queries = [r.query for r in mastodon_server.requests_to(TIMELINE)]
    assert {"limit": "40", "min_id": HISTORY[-1]} in timeline_queries

    mastodon_server.timeline_needs_token = True  # public preview off: only RSS is left
    second = make_status("113560400000000002", "<p>#acme only in RSS</p>", acct="erin")
    mastodon_server.publish(second)
    assert run.emit.wait(lambda c: c.cursor == second["id"])
    assert mastodon_server.wait_for_requests(RSS, 3)
    assert run.emit.entries[-1].external_id == second["url"]  # an RSS guid
    assert len(run.emit.ids()) == len(set(run.emit.ids())) == 5
    run.end()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("streaming refused (HTTP 401)" in w for w in warnings) == 1
    assert sum("needs a token" in w for w in warnings) == 1


TIMELINE = "/api/v1/timelines/tag/acme"
RSS = "/tags/acme.rss"
URI_OF = {
    "113559700000000003": "https://fosstodon.example/users/sysadmin/statuses/113559700000000003",
    "113559800000000002": URI + "113559800000000002",
    "113560000000000001": "https://mastodon.example/users/klantbeleving/statuses/113560000000000001",
}


def test_polling_tries_the_stream_again_and_returns_to_it(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.refuse_stream = 404
    run = running(make_source(mastodon_server, settings, fetcher, stream_retry=0.3))
    assert mastodon_server.wait_for_requests(TIMELINE, 2)
    mastodon_server.refuse_stream = None
    assert mastodon_server.wait_for_streams(1)
    assert run.emit.wait(lambda c: c.cursor == "113560100000000015")


def test_a_page_that_is_not_an_event_stream_means_polling(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.not_sse = True
    run = running(make_source(mastodon_server, settings, fetcher))
    assert run.emit.wait(lambda c: len(c.entries) == 3)
    assert mastodon_server.wait_for_requests(TIMELINE, 2)


def test_malformed_and_oversized_events_are_skipped_and_the_stream_goes_on(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    source = make_source(mastodon_server, settings, fetcher, max_line_bytes=50_000)
    run = running(source, "113560100000000015")
    assert run.emit.wait(lambda c: c.cursor == "113560100000000015")
    before = malformed_count()
    mastodon_server.publish_raw(b"event: update\ndata: not json at all\n\n")
    mastodon_server.publish_raw(
        b'event: update\ndata: {"id": "1", "uri": ' + b"x" * 80_000 + b"\n\n"
    )
    mastodon_server.publish_raw(b'event: update\ndata: {"id":"113560500000000001"}\n\n')  # no uri
    mastodon_server.publish_raw(b"event: update\ndata: [1, 2]\n\n")
    good = make_status("113560500000000002", "<p>still listening, #acme</p>")
    mastodon_server.publish(good)
    assert run.emit.wait(lambda c: URI + good["id"] in c.ids())
    assert malformed_count() == before + 4
    assert mastodon_server.streams_opened == 1  # skipped, not reconnected


def test_rate_limited_stream_waits_as_retry_after_says(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.stream_failures = [(429, {"Retry-After": "1"})]
    started = time.monotonic()
    running(make_source(mastodon_server, settings, fetcher), HISTORY[-1])
    assert mastodon_server.wait_for_streams(1)
    assert time.monotonic() - started >= 1.0
    assert len(mastodon_server.requests_to("/api/v1/streaming/hashtag")) == 2


def test_rate_limited_polling_waits_as_retry_after_says(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.refuse_stream = 401
    mastodon_server.timeline_failures = [(429, {"Retry-After": "1"})]
    running(make_source(mastodon_server, settings, fetcher), HISTORY[-1])
    assert mastodon_server.wait_for_requests(TIMELINE, 2)
    first, second = mastodon_server.request_times(TIMELINE)[:2]
    assert second - first >= 1.0


@pytest.mark.parametrize("refuse", [None, 401], ids=["quiet-stream", "polling"])
def test_stop_ends_run_within_two_seconds(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, refuse: int | None
) -> None:
    mastodon_server.recording = []  # connected, nothing to say, heartbeats 15 s apart
    mastodon_server.refuse_stream = refuse
    source = make_source(mastodon_server, settings, fetcher, poll_interval=60.0)
    run = Running(source, HISTORY[-1])
    assert mastodon_server.wait_for_requests(TIMELINE, 1)  # streaming, or polling
    assert run.end() < 2.0


def test_server_errors_reconnect_with_backoff_until_the_stream_answers(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.stream_failures = [(502, {}), (503, {}), (500, {})]
    run = running(make_source(mastodon_server, settings, fetcher), HISTORY[-1])
    assert run.emit.wait(lambda c: c.cursor == "113560100000000015")
    assert len(mastodon_server.requests_to("/api/v1/streaming/hashtag")) == 4


def test_the_stream_is_read_from_the_host_the_instance_names(
    mastodon_server: FakeMastodon,
    settings: Settings,
    fetcher: HttpFetcher,
    running,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streaming = FakeMastodon().start()
    try:
        streaming.token = mastodon_server.token = TOKEN
        streaming.catch_up_first = False  # the client catches up from the other host
        mastodon_server.refuse_stream = 404  # this host does not stream
        mastodon_server.streaming_url = "ws" + streaming.base_url.removeprefix("http")
        monkeypatch.setenv("MASTO_TOKEN", TOKEN)
        run = running(make_source(mastodon_server, settings, fetcher, token_env="MASTO_TOKEN"))
        assert run.emit.wait(lambda c: URI + "113560100000000015" in c.ids())
        [stream] = streaming.requests_to("/api/v1/streaming/hashtag")
        assert stream.headers["Authorization"] == f"Bearer {TOKEN}"
        assert not mastodon_server.requests_to("/api/v1/streaming/hashtag")
    finally:
        streaming.stop()


def test_a_long_gap_is_caught_up_page_by_page_in_order(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.recording = []
    missed = [f"1135606{n:011d}" for n in range(1, 101)]
    for status_id in missed:
        mastodon_server.timeline[status_id] = make_status(status_id, "<p>#acme</p>")
    run = running(make_source(mastodon_server, settings, fetcher), HISTORY[-1])
    assert run.emit.wait(lambda c: c.cursor == missed[-1])
    assert run.emit.ids() == [URI + i for i in missed]  # oldest first, none twice
    queries = [r.query.get("min_id") for r in mastodon_server.requests_to(TIMELINE)]
    assert queries == [HISTORY[-1], missed[39], missed[79]]


def test_check_reports_streaming(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher
) -> None:
    result = make_source(mastodon_server, settings, fetcher).check()
    assert result == f"streaming #acme from {mastodon_server.base_url} (Mastodon 4.3.2)"


def test_check_reports_the_fallbacks(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher
) -> None:
    mastodon_server.token = TOKEN
    source = make_source(mastodon_server, settings, fetcher)
    assert source.check().startswith("streaming refused (401), will poll the tag timeline")
    mastodon_server.timeline_needs_token = True
    assert source.check() == (
        "streaming refused (401), the tag timeline needs a token (401), "
        "will read the tag RSS feed (3 entries)"
    )


def test_check_fails_clearly_without_an_instance(settings: Settings, fetcher: HttpFetcher) -> None:
    config = SourceConfig(kind="mastodon", name="m", instance="http://127.0.0.1:9", tag="acme")
    with pytest.raises(SourceError, match="no Mastodon instance info"):
        build(config, settings, fetcher).check()


# ---- pure parts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "events"),
    [
        ([b"event: update\ndata: {}\n\n"], [SseEvent("update", "{}")]),
        ([b"event: upd", b"ate\r\ndata: 1\r\n\r\n"], [SseEvent("update", "1")]),
        ([b":thump\n:)\n\n"], []),
        ([b"data: a\ndata: b\n\n"], [SseEvent("message", "a\nb")]),
        ([b"event: delete\ndata:42\n\n"], [SseEvent("delete", "42")]),
        ([b"event: update\ndata: " + b"x" * 200, b"y\n\n"], [SseEvent("update", "", True)]),
        ([b"event: update\n" + b"data: xxxxxxxx\n" * 40 + b"\n"], [SseEvent("update", "", True)]),
        ([b"event: update\ndata: " + b"x" * 200 + b"\n\nevent: delete\ndata: 7\n\n"],
         [SseEvent("update", "", True), SseEvent("delete", "7")]),
    ],
)  # fmt: skip
def test_sse_decoder(chunks: list[bytes], events: list[SseEvent]) -> None:
    decoder = SseDecoder(max_line=100, max_event=300)
    assert [e for chunk in chunks for e in decoder.feed(chunk)] == events


def test_ids_compare_as_numbers_and_links_give_the_next_min_id() -> None:
    assert id_key("113560100000000011") > id_key("99999999999999999")
    assert link_min_id(
        '<https://m.example/api/v1/timelines/tag/acme?max_id=5>; rel="next", '
        '<https://m.example/api/v1/timelines/tag/acme?min_id=9>; rel="prev"'
    ) == "9"  # fmt: skip
    assert link_min_id("") == ""


def test_streaming_base_comes_from_v2_or_v1_instance_info() -> None:
    v2 = {"configuration": {"urls": {"streaming": "wss://streaming.m.example"}}}
    assert streaming_base(v2, "https://m.example") == "https://streaming.m.example"
    v1 = {"urls": {"streaming_api": "wss://m.example"}}
    assert streaming_base(v1, "https://m.example") == "https://m.example"
    assert streaming_base({}, "https://m.example") == "https://m.example"


def test_a_stream_dripping_a_line_that_never_ends_is_cut_and_reconnected(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    mastodon_server.recording = []  # no heartbeats: only what the test sends
    source = make_source(mastodon_server, settings, fetcher, read_timeout=1.0)
    running(source, HISTORY[-1])
    assert mastodon_server.wait_for_streams(1)
    drip = threading.Event()
    for _ in range(30):  # a byte every 0.1 s, never a line end: reads never time out
        if mastodon_server.streams_opened >= 2:
            break
        mastodon_server.publish_raw(b"x")
        drip.wait(0.1)  # the fault under test: a slow drip, not a synchronisation
    assert mastodon_server.wait_for_streams(2)


def test_reach_is_asked_of_the_instance_by_each_statuses_id_there(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher, running
) -> None:
    source = make_source(mastodon_server, settings, fetcher)
    run = running(source, HISTORY[-1])
    assert run.emit.wait(lambda c: c.cursor == "113560100000000015")
    english = URI + "113560100000000011"
    dutch = "https://mastodon.nl.example/users/piet/statuses/113560100000000012"
    boosted = "https://fosstodon.example/users/sysadmin/statuses/113560099000000009"
    # Counts as they stand now: the statuses took off since they were streamed.
    for status_id, counts in (("113560100000000011", (12, 30, 4)),
                              ("113560100000000012", (1, 2, 0))):  # fmt: skip
        status = mastodon_server.status(status_id)
        assert status is not None
        status.update(
            zip(("reblogs_count", "favourites_count", "replies_count"), counts, strict=True)
        )
    found = source.reach([english, dutch, boosted, "https://elsewhere.example/never-seen"])
    assert found[english] == 46 and found[dutch] == 3
    assert boosted in found  # the boosted status, by its own id here, not the boost's
    asked = {r.path for r in mastodon_server.requests if r.path.startswith("/api/v1/statuses/")}
    assert asked == {"/api/v1/statuses/113560100000000011", "/api/v1/statuses/113560100000000012",
                     f"/api/v1/statuses/{mastodon_server.status_id_of(boosted)}"}  # fmt: skip
    # Asked while the stream runs, on a client of its own: the stream goes on.
    mastodon_server.publish(make_status("113560200000000001", "<p>#Acme again</p>"))
    assert run.emit.wait(lambda c: c.cursor == "113560200000000001")


def test_after_a_restart_the_instances_own_statuses_are_found_from_their_uri(
    mastodon_server: FakeMastodon, settings: Settings, fetcher: HttpFetcher
) -> None:
    own = make_status("113560300000000001", "<p>#Acme</p>") | {
        "uri": f"{mastodon_server.base_url}/users/dana/statuses/113560300000000001",
        "reblogs_count": 5, "favourites_count": 7, "replies_count": 2,
    }  # fmt: skip
    mastodon_server.timeline[own["id"]] = own
    fresh = make_source(mastodon_server, settings, fetcher)  # has seen nothing yet
    remote = "https://fosstodon.example/users/sysadmin/statuses/113559700000000003"
    assert fresh.reach([own["uri"], remote]) == {own["uri"]: 14}
    # Another server's status is never fetched from that server, only from the instance.
    assert not [r for r in mastodon_server.requests if "113559700000000003" in r.path]

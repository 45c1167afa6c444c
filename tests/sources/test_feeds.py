"""Feed parsing on real samples, hostile XML, feedparser's malformed corpus, and fuzz."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching import unwrap_redirect
from bot.sources.base import SourceError
from bot.sources.feeds import parse_feed
from bot.sources.text import html_to_text
from tests.conftest import shared_path


def parse_file(*parts: str) -> list:  # type: ignore[type-arg]
    return parse_feed("sample", shared_path("feeds", *parts).read_bytes())


@pytest.mark.parametrize(
    ("parts", "count", "first"),
    [
        (
            ("google-alerts", "google_alerts_atom.xml"),
            20,
            {"url_prefix": "https://www.aglobalmarketresearch.com/", "id_prefix": "tag:google.com"},
        ),
        (("youtube", "youtube_atom.xml"), 15, {"id_prefix": "yt:video:", "author": "Google"}),
        (("generated", "reddit-search.atom"), 3, {"id_prefix": "t3_", "author": "/u/coffee_crow"}),
        (("generated", "hnrss-newest-q-acme.xml"), 3, {"author": "jdoe"}),
        (("generated", "mastodon-tag-acme.rss"), 3, {"title": ""}),
        (("generated", "bluesky-profile.rss"), 3, {"title": "", "id_prefix": "at://did:plc:"}),
        (
            ("generated", "google-news-search-acme.rss"),
            3,
            {"url_prefix": "https://news.google.com/"},
        ),
    ],
)
def test_platform_feeds_become_entries_with_every_field(
    parts: tuple[str, ...], count: int, first: dict[str, str]
) -> None:
    entries = parse_file(*parts)
    assert len(entries) == count
    for entry in entries:
        assert entry.external_id and entry.url.startswith("http")
        assert entry.text or entry.title
        assert "<" not in entry.title and "&lt;" not in entry.text  # plain text, not markup
        assert entry.published_at is not None and entry.published_at.tzinfo == UTC
    e = entries[0]
    assert e.url.startswith(first.get("url_prefix", "http"))
    assert e.external_id.startswith(first.get("id_prefix", ""))
    if "author" in first:
        assert e.author == first["author"]
    if "title" in first:
        assert e.title == first["title"]


def test_json_feeds_parse_without_a_json_content_type() -> None:
    entries = parse_file("feedjira-misc", "json_feed.json")
    assert entries and all(e.external_id and e.url for e in entries)


def test_youtube_description_comes_from_media_group() -> None:
    [video, *_] = parse_file("youtube", "youtube_atom.xml")
    assert len(video.text) > 50


def test_every_feedjira_sample_parses_or_is_refused_cleanly() -> None:
    folder = shared_path("feeds", "feedjira-misc")
    parsed = 0
    for path in sorted(folder.iterdir()):
        if path.name == "LICENSE":
            continue
        try:
            entries = parse_feed(path.name, path.read_bytes())
        except SourceError:
            continue
        parsed += 1
        assert all(e.external_id for e in entries)
    # The *FirstEntry* files are lone entries, not feeds: refusing them is right.
    assert parsed == 35


@pytest.mark.parametrize(
    "name",
    ["billion-laughs.xml", "xxe-local-file.xml", "xxe-atom-local-file.xml",
     "xxe-parameter-entity.xml", "xxe-remote.xml"],
)  # fmt: skip
def test_entity_attacks_are_refused_before_parsing(name: str) -> None:
    with pytest.raises(SourceError, match=r"refused: .*may not define entities"):
        parse_file("attacks", name)


@pytest.mark.parametrize("name", ["deep-nesting.xml", "deep-nesting-escaped.xml"])
def test_deep_nesting_is_parsed_quickly_without_recursion(name: str) -> None:
    started = time.process_time()
    for entry in parse_file("attacks", name):
        assert "root:" not in entry.text
    assert time.process_time() - started < 5  # a budget, not a benchmark: quadratic would blow it


def test_xxe_towards_a_listener_makes_no_request() -> None:
    attack = shared_path("feeds", "attacks", "xxe-remote.xml").read_bytes()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        aimed = attack.replace(b"127.0.0.1:9", f"127.0.0.1:{port}".encode())
        with pytest.raises(SourceError):
            parse_feed("x", aimed)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came


def test_feedparsers_malformed_corpus_never_crashes_the_parser() -> None:
    folder = shared_path("feeds", "malformed")
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "LICENSE"]
    assert len(files) > 2000
    refused = 0
    for path in files:
        try:
            parse_feed(path.name, path.read_bytes())
        except SourceError:
            refused += 1  # a clear error is fine; any other exception fails the test
    assert refused < len(files) / 2


@settings(max_examples=300, deadline=2000)
@given(st.binary(max_size=4000))
def test_any_bytes_give_entries_or_a_clear_error(data: bytes) -> None:
    with contextlib.suppress(SourceError):
        parse_feed("fuzz", data)


@settings(max_examples=200, deadline=2000)
@given(
    st.lists(
        st.sampled_from(["<rss>", "<channel>", "<item>", "<title>", "Acme", "&amp;", "</item>",
                         "<![CDATA[x]]>", "<!DOCTYPE x>", "<?xml version='1.0'?>", "</rss>",
                         "<entry>", "<feed xmlns='http://www.w3.org/2005/Atom'>", "\x00", "é"]),
        max_size=60,
    ).map("".join)
)  # fmt: skip
def test_feedlike_fragments_give_entries_or_a_clear_error(text: str) -> None:
    try:
        for entry in parse_feed("fuzz", text.encode("utf-8")):
            assert entry.external_id
    except SourceError:
        pass


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Hello <b>world</b></p><p>again</p>", "Hello world again"),
        ("a<br/>b", "a b"),
        ("<script>alert(1)</script>safe", "safe"),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("<!-- hidden -->shown", "shown"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_google_alert_links_are_unwrapped() -> None:
    wrapped = "https://www.google.com/url?rct=j&sa=t&url=https://news.example.com/a&ct=ga"
    assert unwrap_redirect(wrapped) == "https://news.example.com/a"
    assert unwrap_redirect("https://example.com/url?url=x") == "https://example.com/url?url=x"


def test_sample_timestamps_are_parsed_as_utc() -> None:
    [first, *_] = parse_file("generated", "reddit-search.atom")
    assert first.published_at == datetime(2026, 11, 24, 21, 13, 44, tzinfo=UTC)

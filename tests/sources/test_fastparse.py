"""The fast feed path gives exactly the feedparser path's entries, or declines."""

from __future__ import annotations

import contextlib
import html
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.matching import unwrap_redirect
from bot.models import RawEntry
from bot.sources import fastparse
from bot.sources.base import SourceError
from bot.sources.fastparse import parse_fast
from bot.sources.feed_bytes import (
    BARE_AMPERSAND,
    EMAIL_TAG,
    OPAQUE,
    NotParity,
    has_email_tag,
    is_html_page,
    require_well_formed_references,
    without_opaque,
)
from bot.sources.feeds import entry_to_raw, parse_feed
from bot.sources.text import _COMMON_REFERENCES, _unescape, html_to_text
from tests.conftest import SHARED, shared_path

SAMPLE_DIRS = ("google-alerts", "youtube", "generated", "feedjira-misc")
FIELDS = ("source", "external_id", "url", "title", "text", "author", "published_at")
# Documents where the fast path is known to decline, and why (see bot/sources/fastparse.py).
DECLINED = {
    "AtomEscapedHTMLInPreTag.xml",  # an entry with neither id nor link
}


def sample_files() -> list[Path]:
    root = SHARED / "feeds"
    return [
        path
        for folder in SAMPLE_DIRS
        for path in sorted((root / folder).glob("*"))
        if path.is_file() and path.name != "LICENSE" and path.suffix != ".json"
    ]


def feedparser_path(body: bytes, source: str = "sample") -> list[RawEntry]:
    fastparse.ENABLED = False
    try:
        return parse_feed(source, body)
    finally:
        fastparse.ENABLED = True


@pytest.fixture(autouse=True)
def fast_path_on() -> Iterator[None]:
    yield
    fastparse.ENABLED = True


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_path_gives_feedparsers_entries_field_by_field_or_declines(path: Path) -> None:
    body = path.read_bytes()
    try:
        expected = feedparser_path(body)
    except SourceError:
        pytest.skip("not a feed for either path (a lone entry or HTML fragment)")
    try:
        got = parse_fast("sample", body)
    except Exception as exc:
        assert path.name in DECLINED, f"fast path declined unexpectedly: {exc!r}"
        assert parse_feed("sample", body) == expected  # and the fallback is feedparser's
        return
    assert path.name not in DECLINED, "declined before, parity now: update DECLINED"
    assert len(got) == len(expected)
    for fast_entry, slow_entry in zip(got, expected, strict=True):
        for field in FIELDS:
            assert getattr(fast_entry, field) == getattr(slow_entry, field), field
    assert parse_feed("sample", body) == expected


def test_the_sample_folders_are_all_there() -> None:
    shared_path("feeds")
    assert len(sample_files()) >= 45


def test_real_platform_feeds_take_the_fast_path() -> None:
    for parts in [
        ("google-alerts", "google_alerts_atom.xml"),
        ("youtube", "youtube_atom.xml"),
        ("generated", "hnrss-newest-q-acme.xml"),
        ("generated", "mastodon-tag-acme.rss"),
        ("generated", "reddit-search.atom"),
    ]:
        assert parse_fast("s", shared_path("feeds", *parts).read_bytes())


def test_youtube_description_comes_from_media_group_on_the_fast_path() -> None:
    [video, *_] = parse_fast("s", shared_path("feeds", "youtube", "youtube_atom.xml").read_bytes())
    assert len(video.text) > 50


def test_author_keeps_the_email_in_parentheses_like_feedparser() -> None:
    body = shared_path("feeds", "feedjira-misc", "GoogleDocsList.xml").read_bytes()
    assert parse_fast("s", body)[0].author == "Jenna Dolsom (jenna.dolsom.example@gmail.com)"


def test_guid_is_a_link_only_when_it_is_a_permalink() -> None:
    body = shared_path("feeds", "feedjira-misc", "Permalinks.xml").read_bytes()
    assert [e.url for e in parse_fast("s", body)] == [
        "",  # isPermaLink="false", no <link>
        "http://example.com/2",
        "http://example.com/3",
        "http://example.com/4",  # the <link>, not the guid
    ]


def test_fast_path_refuses_a_str_so_it_can_never_fetch_a_url() -> None:
    with pytest.raises(TypeError):
        parse_fast("s", "https://example.com/feed.xml")  # type: ignore[arg-type]


def test_fast_path_declines_a_body_element_it_could_not_read() -> None:
    body = shared_path("feeds", "attacks", "deep-nesting.xml").read_bytes()
    with pytest.raises(NotParity):
        parse_fast("s", body)
    assert parse_feed("s", body) == feedparser_path(body, "s")


def test_hundred_thousand_deep_nesting_falls_back_without_crash_or_hang() -> None:
    shared_path("feeds", "attacks")
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
    body = (
        head
        + "<item><title>Acme</title><description>"
        + "<b>" * 100_000
        + "x"
        + "</b>" * 100_000
        + "</description><guid>deep-1</guid></item></channel></rss>"
    ).encode()  # what attacks/make_big.py writes as deep-nesting.xml
    started = time.process_time()
    [entry] = parse_feed("s", body)
    assert entry.external_id == "deep-1"
    assert parse_feed("s", body) == feedparser_path(body, "s")
    assert time.process_time() - started < 10


def test_a_recursion_error_in_the_fast_path_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_deep(source: str, body: bytes) -> list[RawEntry]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(fastparse, "parse_fast", too_deep)
    body = shared_path("feeds", "generated", "reddit-search.atom").read_bytes()
    assert len(parse_feed("s", body)) == 3


def test_attack_files_never_crash_the_full_path() -> None:
    for path in sorted(shared_path("feeds", "attacks").glob("*.xml")):
        with contextlib.suppress(SourceError):
            parse_feed(path.name, path.read_bytes())


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("  plain\ttext\n\nwith  gaps ", "plain text with gaps"),
        ("no\u00a0break\u2028line\u3000ideographic", "no break line ideographic"),
        ("file\x1cseparator is a control, removed", "fileseparator is a control, removed"),
        ("&lt;b&gt; &amp;amp; &#xA0;end", "<b> &amp; end"),
    ],
)
def test_html_to_text_collapses_every_unicode_space_and_drops_controls(
    markup: str, expected: str
) -> None:
    assert html_to_text(markup) == expected


def test_an_xhtml_title_is_read_on_the_fast_path_like_feedparser() -> None:
    body = shared_path("feeds", "feedjira-misc", "pet_atom.xml").read_bytes()
    [first, *_] = parse_fast("s", body)
    assert first.title == "Sentry Calming Collar for dogs"
    assert first == feedparser_path(body, "s")[0]


def test_rss_1_content_encoded_is_read_on_the_fast_path_like_feedparser() -> None:
    body = shared_path("feeds", "feedjira-misc", "HREFConsideredHarmful.xml").read_bytes()
    got = parse_fast("s", body)
    assert "Lars Bak" in got[0].text  # only in content:encoded, not in the description
    assert got == feedparser_path(body, "s")


# RSS 1.0, whose content:encoded fastfeedparser leaves out (so the repair reads it).
RSS_WITH_ENCODED = """<?xml version="1.0" encoding="{encoding}"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://example.com/"><title>t</title><link>http://example.com/</link>
<description>d</description></channel>
<item rdf:about="http://example.com/1"><title>Caf\u00e9</title><link>http://example.com/1</link>
<description>short</description><content:encoded>{inner}</content:encoded></item></rdf:RDF>"""


@pytest.mark.parametrize(
    ("encoding", "inner"),
    [
        ("iso-8859-1", "&lt;p&gt;caf\u00e9 with a long enough body&lt;/p&gt;"),  # not UTF-8
        ("utf-8", "<![CDATA[one]]> and <![CDATA[two]]>"),  # more than one CDATA section
        ("utf-8", "&lt;p&gt;an &nbsp; HTML entity, undeclared in XML&lt;/p&gt;"),
    ],
)
def test_content_encoded_the_repair_cannot_read_exactly_falls_back_to_feedparser(
    encoding: str, inner: str
) -> None:
    text = RSS_WITH_ENCODED.format(encoding=encoding, inner=inner)
    body = text.encode("latin-1" if encoding == "iso-8859-1" else "utf-8")
    entries = fastparse.fastfeedparser.parse(body).entries
    if entries and entries[0].get("content"):
        pytest.skip("fastfeedparser read content:encoded itself: no repair involved")
    with pytest.raises(NotParity):
        parse_fast("s", body)
    assert parse_feed("s", body) == feedparser_path(body, "s")


def test_an_atom_feed_wrapped_in_an_xhtml_page_is_read_like_feedparser() -> None:
    body = shared_path("feeds", "feedjira-misc", "DuplicateContentAtomFeed.xml").read_bytes()
    assert body.lstrip().startswith(b"<?xml") and b"<html" in body[:400]
    got = parse_fast("s", body)
    assert len(got) == 10
    assert got == feedparser_path(body, "s")


def test_an_html_page_without_one_atom_feed_inside_is_not_read_on_the_fast_path() -> None:
    page = b'<html><body><feed xmlns="http://www.w3.org/2005/Atom"></feed>'
    for body in (page + b"<entry><id>x</id></entry></body></html>", b"<html><p>hi</p></html>"):
        with pytest.raises(ValueError):
            parse_fast("s", body)


def test_opaque_sections_are_removed_exactly_as_the_reference_regex_would() -> None:
    pieces = [b"<!", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"-", b"]", b"x", b"<", b">"]
    rng = random.Random(5)
    for _ in range(20_000):
        markup = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert without_opaque(markup) == OPAQUE.sub(b"", markup), markup


@pytest.mark.parametrize(
    "link",
    [
        "https://www.google.com/url?rct=j&sa=t&url=https://example.com/a&ct=ga",
        "https://www.google.com/u\trl?url=https://example.com/a",  # urlsplit drops the tab
        "https://example.com/plain/page",
    ],
)
def test_entry_links_are_unwrapped_exactly_as_unwrap_redirect_does(link: str) -> None:
    entry = {"id": "x", "link": link}
    assert entry_to_raw("s", entry).url == unwrap_redirect(link)


def test_email_elements_are_found_exactly_as_the_reference_regex_would() -> None:
    pieces = [b"<", b"email", b"email>", b"email ", b":", b"a", b"-", b"x:", b">", b"<a:b:"]
    rng = random.Random(9)
    for _ in range(20_000):
        markup = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert has_email_tag(markup) == (EMAIL_TAG.search(markup) is not None), markup


def test_common_references_are_unescaped_exactly_as_html_unescape_does() -> None:
    pieces = ["&", "nbsp", ";", "&nbsp;", "&#32;", "&#", "32", "&#x", "&amp", "&nbsp", "a", " ",
              "&amp;", "amp", "quot", "lt", "#39", "'", '"', "<", ">", "&lt", "&quot"]  # fmt: skip
    pieces += [reference for reference, _ in _COMMON_REFERENCES]
    rng = random.Random(4)
    for _ in range(50_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert _unescape(text) == html.unescape(text), text


@pytest.mark.parametrize(
    "inner",
    [
        "<![CDATA[<p>Acme <b>rocks</b>, a body longer than the description</p>]]>",
        "  <![CDATA[]]>  ",
        "&lt;p&gt;Acme &amp;amp; co, &#8217;escaped&#x2019; markup&lt;/p&gt;",
    ],
)
def test_rss_1_content_encoded_read_by_the_repair_matches_feedparser(inner: str) -> None:
    body = RSS_WITH_ENCODED.format(encoding="utf-8", inner=inner).encode()
    assert parse_fast("s", body) == feedparser_path(body, "s")


def test_every_feed_in_the_shared_corpus_gives_feedparsers_entries_or_declines() -> None:
    """All of ../shared/feeds, feedparser's own 2,107 test documents (ill-formed, encodings,
    entities, every construct) and the attack files included: wherever the feedparser path
    gives entries, the fast path gives exactly those or declines."""
    root = shared_path("feeds")
    compared, differences = 0, []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in (".json", ".py", ".md") or path.name == "LICENSE":
            continue
        body = path.read_bytes()
        try:
            expected = feedparser_path(body)
        except SourceError:
            continue
        if not expected:
            continue
        try:
            got = parse_fast("sample", body)
        except Exception:
            continue  # declined: parse_feed uses feedparser
        if got:
            compared += 1
            if got != expected:
                differences.append(str(path.relative_to(root)))
    assert compared >= 110
    assert differences == []


def test_a_non_utf8_http_charset_sends_the_feed_to_feedparser() -> None:
    body = shared_path("feeds", "malformed", "encoding", "http_text_xml_charset_2.xml").read_bytes()
    with pytest.raises(NotParity):
        parse_fast("s", body, "text/xml; charset=windows-1252")
    [entry] = parse_feed("s", body, "text/xml; charset=windows-1252")
    assert entry.text == "This is a \xa3\u201ctest.\u201d"  # what feedparser's own test expects


def test_a_bare_ampersand_outside_cdata_is_always_declined() -> None:
    pieces = [b"&", b"&amp;", b"&lt;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<!", b"x", b";"]
    rng = random.Random(8)
    for _ in range(20_000):
        markup = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        # The reference: a bare "&" left once CDATA sections and comments are removed.
        if BARE_AMPERSAND.search(without_opaque(markup)):
            with pytest.raises(NotParity):
                require_well_formed_references(markup)


def test_an_atom_feed_inside_an_xhtml_page_is_taken_out_before_fastfeedparser_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = shared_path("feeds", "feedjira-misc", "DuplicateContentAtomFeed.xml").read_bytes()
    parsed: list[bytes] = []
    real_parse = fastparse._parse

    def recording_parse(document: bytes) -> list[object]:
        parsed.append(document)
        return real_parse(document)

    monkeypatch.setattr(fastparse, "_parse", recording_parse)
    got = parse_fast("s", body)
    assert got == feedparser_path(body, "s") and got
    [document] = parsed  # one parse, of the feed alone: the page was never handed over
    assert document.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") and b"<html" not in document


@pytest.mark.parametrize(
    ("prolog", "expected"),
    [
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!DOCTYPE html>\n<!-- c -->\n<HTML lang="en">', True),
        (b'<?xml version="1.0"?><?xml-stylesheet href="a.xsl"?>\n<html>', True),
        (b'<?xml version="1.0"?>\n<rss version="2.0">', False),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><html>", False),  # not the root
        (b" " * 5000 + b"<html>", False),  # beyond the window: left to the refusal path
        (b"<!--" + b" " * 100_000, False),  # an unclosed comment ends quickly
    ],
)
def test_is_html_page_reads_only_the_prolog(prolog: bytes, expected: bool) -> None:
    assert is_html_page(prolog) is expected

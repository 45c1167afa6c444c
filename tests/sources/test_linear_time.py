"""Every pass over a stranger's text or document costs time linear in its size: html_to_text,
each byte-level scan of the fast path, the DTD refusal, and whole-document parsing on both
paths. Worst-case generators build inputs from the constructs that make naive scanners
rescan (unclosed comments, scripts and tags, deep nesting, long attribute runs, stray "&" and
"<"); tests/scaling.py checks that an input eight times longer costs about eight times more.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.sources import fastparse, feed_bytes
from bot.sources.base import SourceError
from bot.sources.feeds import parse_feed
from bot.sources.text import html_to_text
from bot.sources.xml_guard import refuse_dtd
from tests.scaling import assert_linear

HTML_ATOMS = ["<!--", "-->", "<script>", "<script", "</script>", "<style x>", "</style", "<br",
              "<br>", "<p ", "<div>", "</div>", "<a", 'b="', "x", " ", "\n", "&amp;", "&", "&#",
              "<", ">", "<!", "-", '"', "'", "<![CDATA[", "\u200b"]  # fmt: skip
DOC_ATOMS = [b"<!--", b"-->", b"<![CDATA[", b"]]>", b"<title>", b"</title", b"<author>",
             b"<x:author ", b"</author", b"<link ", b"href=", b"<feed ", b"xmlns=", b"<guid ",
             b"<description ", b"&", b"&amp;", b"<email", b"email ", b"a:description", b"<",
             b">", b'"', b"'", b'type="', b"<item ", b"self", b"x", b" ", b"<name ", b"<?",
             b"<!DOCTYPE ", b"<![", b"<html "]  # fmt: skip
SETTINGS = settings(
    max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def repeated(motif: Any, size: int) -> Any:
    return (motif * (size // max(1, len(motif)) + 1))[:size]


# --- html_to_text ----------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.sampled_from(HTML_ATOMS), min_size=1, max_size=4).map("".join))
@example("<!--")
@example("<script><style x>")
@example("<br")
@example('<div><a b="')
@example("<!---->")
def test_html_to_text_is_linear_on_worst_case_markup(motif: str) -> None:
    # The length cap (limit x 4) is raised, so the size really grows.
    assert_linear(
        lambda text: html_to_text(text, limit=10**7),
        lambda size: repeated(motif, size),
        20_000,
        f"html_to_text on {motif!r}",
    )


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("a<!-- one -->b<!-- never closed", "a b<!-- never closed"),
        ("<script>x</script>y<script>z", "yz"),  # unclosed: kept, as text
        ("<STYLE>p{}</style >kept<style>also", "keptalso"),
        ("5 < 6 and <b>bold</b>", "5 bold"),  # a "<" starts a tag, as before
        ("<a href='x'\ntitle=y>link</a>", "link"),
        ("a<br" * 3, "a<bra<bra<br"),
    ],
)
def test_html_to_text_ends_each_construct_where_html_does(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


# --- the byte-level scans of the fast path and the DTD refusal ------------------------------
def _quiet(scan: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def run(body: bytes) -> object:
        with contextlib.suppress(SourceError, feed_bytes.NotParity):
            return scan(body)
        return None

    return run


def _all(pattern: Any) -> Callable[[bytes], object]:
    return lambda body: sum(1 for _ in pattern.finditer(body))


SCANS: dict[str, Callable[[bytes], object]] = {
    "refuse_dtd": _quiet(refuse_dtd),
    "require_well_formed_references": _quiet(feed_bytes.require_well_formed_references),
    "without_opaque": feed_bytes.without_opaque,
    "has_email_tag": feed_bytes.has_email_tag,
    "is_html_page": feed_bytes.is_html_page,
    "embedded_atom_feed": feed_bytes.embedded_atom_feed,
    "titles": lambda b: fastparse.closed_elements(
        b, fastparse._TITLE_OPEN, lambda _: fastparse._TITLE_CLOSE
    ),
    "authors": lambda b: fastparse.closed_elements(
        b, fastparse._AUTHOR_OPEN, fastparse.closing_tag
    ),
    "HREFLESS_LINK": _all(feed_bytes.HREFLESS_LINK),
    "PREFIXED_DESCRIPTION": _all(feed_bytes.PREFIXED_DESCRIPTION),
    "XHTML_TYPE": _all(feed_bytes.XHTML_TYPE),
    "BARE_AMPERSAND": _all(feed_bytes.BARE_AMPERSAND),
    "TEXT_TAG": _all(fastparse._TEXT_TAG),
    "SELF_REL": _all(fastparse._SELF_REL),
    "GUID": _all(fastparse._GUID),
    "NAME": _all(fastparse._NAME),
    "EMAIL": _all(fastparse._EMAIL),
}


@pytest.mark.parametrize("scan", sorted(SCANS))
@SETTINGS
@given(motif=st.lists(st.sampled_from(DOC_ATOMS), min_size=1, max_size=4).map(b"".join))
@example(motif=b"<!--")
@example(motif=b"<title><link <feed <!DOCTYPE ")
def test_every_document_scan_is_linear_on_worst_case_bytes(scan: str, motif: bytes) -> None:
    head = b'<?xml version="1.0"?><rss><channel><item><description>'
    assert_linear(
        SCANS[scan], lambda size: head + repeated(motif, size), 10_000, f"{scan} on {motif!r}"
    )


# --- whole documents, both parsing paths -----------------------------------------------------
HOSTILE_DESCRIPTIONS = {
    "unclosed comments in CDATA": "<![CDATA[" + "<!--" * 50 + "]]>",
    "escaped unclosed comments": "&lt;!--" * 50,
    "scripts in CDATA": "<![CDATA[" + "<script>" * 50 + "]]>",
    "escaped lt": "&lt;" * 100,
    "deep nesting in CDATA": "<![CDATA[" + "<div>" * 50 + "]]>",
    "attribute run": "<![CDATA[<a " + 'b="x" ' * 50 + ">]]>",
    "raw unclosed tags": "<a " * 50,
}


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "feedparser"])
@pytest.mark.parametrize("kind", sorted(HOSTILE_DESCRIPTIONS))
def test_parsing_a_hostile_feed_is_linear(
    kind: str, fast_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastparse, "ENABLED", fast_path)
    unit = HOSTILE_DESCRIPTIONS[kind]

    def feed(size: int) -> bytes:
        description = unit * max(1, size // len(unit))
        if unit.startswith("<![CDATA["):  # one section, its inside repeated
            inner = unit[9:-3]
            description = "<![CDATA[" + inner * max(1, size // len(inner)) + "]]>"
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            f"<title>Acme</title><guid>g</guid><link>https://e.com/1</link>"
            f"<description>{description}</description></item></channel></rss>"
        ).encode()

    assert_linear(_quiet(lambda body: parse_feed("s", body)), feed, 20_000, kind)

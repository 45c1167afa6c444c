"""The fast path for RSS and Atom: fastfeedparser (lxml and a native extractor) instead of
feedparser, giving exactly the RawEntry fields the feedparser path gives.

fastfeedparser reads a feed about 30 to 100 times faster than feedparser but does not agree
with it everywhere. Where it differs in a way we can repair from what it returns, the
repair is here; where the difference cannot be seen or repaired, `parse_fast` raises
`NotParity` and the caller parses the document with feedparser instead. The rules below
were found by comparing both paths field by field over real samples
(tests/sources/test_fastparse.py); each says which feedparser behaviour it follows.
The byte-level facts about a document, and the refusals that look at the whole document
(its encoding, its bare "&"), are in bot/sources/feed_bytes.py.

Only ever hand fastfeedparser bytes: given a `str` that starts with http it fetches it.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import fastfeedparser

from bot.models import RawEntry
from bot.sources import feeds  # a module import: feeds imports this module too
from bot.sources.feed_bytes import (
    HREFLESS_LINK,
    PREFIXED_DESCRIPTION,
    XHTML_TYPE,
    Document,
    NotParity,
    closed_elements,
    closing_tag,
    embedded_atom_feed,
    is_html_page,
    require_utf8,
    require_well_formed_references,
)

# feedparser maps these Atom content types onto MIME types; a link is the entry's
# alternate link only when its type is one of the HTML ones.
_TYPE_ALIASES = {"html": "text/html", "xhtml": "application/xhtml+xml", "text": "text/plain"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
# An unprefixed body element, or content:encoded, with something in it.
_TEXT_TAG = re.compile(
    rb"<(?:description|summary|content|content:encoded)(?:\s[^<>]*)?(?<!/)>\s*(?:[^\s<]|<[^/])"
)
_RSS_LINK = re.compile(rb"<link[\s>]")
_DESCRIPTION = re.compile(rb"<description[\s>]")
_ATOM_ID = re.compile(rb"<id[\s>]")
_SELF_REL = re.compile(rb"""<(?:[\w-]+:)?link\s[^<>]*rel\s*=\s*["']self["']""")
_GUID = re.compile(rb"<guid\b([^<>]*)>")
_PERMALINK_VALUE = re.compile(rb"""ispermalink\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
# Openings of the elements read whole below (closed_elements finds their ends).
_AUTHOR_OPEN = re.compile(rb"<((?:[\w-]+:)?author)\b[^<>]*>")
_ENCODED_OPEN = re.compile(rb"<content:encoded\s*>")
_ENCODED_CLOSE = re.compile(rb"</content:encoded\s*>")
# The only references a well-formed document without a DTD can hold.
_XML_REFERENCE = re.compile(rb"&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
_TITLE_OPEN = re.compile(rb"<title\b([^<>]*)>")
_TITLE_CLOSE = re.compile(rb"</title\s*>")
_XHTML_DIV = re.compile(
    rb"""\s*<div\s+xmlns\s*=\s*["']http://www\.w3\.org/1999/xhtml["']\s*>(.*)</div>\s*""",
    re.DOTALL,
)
_NAME = re.compile(rb"<((?:[\w-]+:)?name)\b[^<>]*>([^<&]*)</\1\s*>")
_EMAIL = re.compile(rb"<((?:[\w-]+:)?email)\b[^<>]*>([^<&]*)</\1\s*>")


# Off: parse_feed goes straight to feedparser (benchmarks and parity tests compare both).
ENABLED = True


def parse_fast(source: str, body: bytes, content_type: str = "") -> list[RawEntry]:
    """Entries of an RSS or Atom document, as the feedparser path would give them.

    Raises NotParity where the result could differ from feedparser's, and whatever
    fastfeedparser raises (ValueError, RecursionError, ...) where it cannot read it.
    """
    if not isinstance(body, bytes):  # a str starting with http would be fetched
        raise TypeError("parse_fast takes bytes")
    require_utf8(body, content_type)
    require_well_formed_references(body)
    # An XHTML page wrapping an Atom feed: the feed is taken out before parsing, rather than
    # letting fastfeedparser parse the whole page only to refuse it as HTML (twice the work).
    # A page whose prolog is too long for is_html_page is still refused, then taken apart.
    seen_as_page = is_html_page(body)
    inner = embedded_atom_feed(body) if seen_as_page else None
    if inner is not None:
        body = inner
    try:
        entries = _parse(body)
    except ValueError as exc:
        if seen_as_page or "HTML page" not in str(exc):
            raise  # embedded_atom_feed has had its look at this page already
        inner = embedded_atom_feed(body)
        if inner is None:
            raise
        body, entries = inner, _parse(inner)
    doc = Document(body, len(entries))
    return [
        feeds.entry_to_raw(source, _as_feedparser(index, entry, doc))
        for index, entry in enumerate(entries)
    ]


def _parse(body: bytes) -> list[Any]:
    """fastfeedparser's entries without the categories, which no mention uses."""
    return list(fastfeedparser.parse(body, include_tags=False).entries)


def _as_feedparser(index: int, entry: dict[str, Any], doc: Document) -> dict[str, Any]:
    """The keys entry_to_raw reads, with feedparser's values."""
    link = _link(index, entry, doc)
    if not entry.get("id") and not link:
        # Identity would be a hash of title and text, where the two parsers differ most.
        raise NotParity("entry without id or link")
    if doc.has_prefixed_description:
        segment = doc.segment(index)
        if PREFIXED_DESCRIPTION.search(segment) and _DESCRIPTION.search(segment):
            raise NotParity("a description from another namespace beside the RSS one")
    fields: dict[str, Any] = {
        "id": entry.get("id") or "",
        "link": link,
        "title": _title(index, entry, doc),
        "content": _content(index, entry, doc),
        "summary": (entry.get("description") or "").strip(),
        "media_description": _media_description(entry),
        "author": _author(index, entry, doc),
        "published_parsed": _utc(entry.get("published")),
    }
    # entry_to_raw reads the updated date only where there is no published one.
    fields["updated_parsed"] = None if fields["published_parsed"] else _utc(entry.get("updated"))
    if (
        not fields["summary"]
        and not fields["media_description"]
        and not any(c["value"] for c in fields["content"])
        and _TEXT_TAG.search(doc.segment(index))
    ):
        # A body element fastfeedparser could not read (markup nested very deep, say).
        raise NotParity("entry text element present but read as empty")
    return fields


def _link(index: int, entry: dict[str, Any], doc: Document) -> str:
    link = entry.get("link") or ""
    guid = entry.get("id") or ""
    if "[" in link or "]" in link or "[" in guid or "]" in guid:
        # feedparser drops a link or id that urlsplit refuses (a bracket outside an IPv6
        # host); telling which ones it refuses is not worth it for such rare URLs.
        raise NotParity("a bracket in the link or id")
    links = entry.get("links") or []
    alternates = [
        item.get("href") or ""
        for item in links
        if (item.get("rel") or "alternate") == "alternate"
        and _TYPE_ALIASES.get(item.get("type") or "", item.get("type") or "text/html")
        in _HTML_TYPES
        and item.get("href")
    ]
    if alternates:
        # feedparser keeps the last alternate HTML link it meets, unless a <link> without
        # href (its text then is the link, wherever it stands) is there too.
        if link and link != alternates[-1] and link not in alternates:
            raise NotParity("entry link and alternate links disagree")
        if doc.has_hrefless_link and HREFLESS_LINK.search(doc.segment(index)):
            raise NotParity("alternate links and a <link> without href")
        return alternates[-1]
    if link and (
        any(item.get("href") == link for item in links)
        or (
            doc.has_self_in_entries
            and doc.entry_has(index, b"self")
            and _SELF_REL.search(doc.raw_segment(index))
        )
    ):
        # fastfeedparser took an enclosure, self, related... link for the entry's link;
        # feedparser takes only alternate HTML ones (else the id, see below).
        raise NotParity("the link is not an alternate HTML link")
    if (link == guid and doc.has_permalink_attr) or (guid and not link):
        # When an item has no <link>, fastfeedparser uses its <guid> as the link if the
        # guid starts with http; feedparser if the guid is a permalink (isPermaLink
        # absent or exactly "true"), whatever it looks like.
        segment = doc.segment(index)
        if _RSS_LINK.search(segment):
            return link  # a real <link> (equal to the guid, or not read at all: empty)
        tag = _GUID.search(segment)
        if tag is None:
            if link:
                raise NotParity("link equals id but the item has neither <link> nor <guid>")
            ids = len(_ATOM_ID.findall(segment))
            if ids > 1:
                raise NotParity("several ids in an entry: feedparser keeps the first as link")
            # An Atom <id> is the link (feedparser's guidislink, as for a permalink guid);
            # RSS 1.0's rdf:about is not.
            return guid if ids else link
        value = _PERMALINK_VALUE.search(tag.group(1))
        return guid if value is None or value.group(1) == b"true" else ""
    return link


def _title(index: int, entry: dict[str, Any], doc: Document) -> str:
    title = entry.get("title") or ""
    if not title and doc.has_xhtml_type:
        return _xhtml_title(doc.raw_segment(index), doc)
    return title


def _xhtml_title(segment: bytes, doc: Document) -> str:
    """An Atom title of type xhtml, which fastfeedparser drops: feedparser gives the
    markup inside its <div> wrapper (still escaped, as XHTML is written)."""
    titles = closed_elements(segment, _TITLE_OPEN, lambda _: _TITLE_CLOSE)
    if not titles:
        return ""
    if len(titles) > 1:
        raise NotParity("several titles in an entry with an xhtml title")
    attributes, inner = titles[0]
    if not XHTML_TYPE.search(attributes):
        raise NotParity("a non-xhtml title that fastfeedparser read as empty")
    wrapped = _XHTML_DIV.fullmatch(inner)
    if wrapped is None or b"<!" in inner or b"<div" in wrapped.group(1):
        raise NotParity("an xhtml title not in the plain <div> shape")
    return doc.text(wrapped.group(1)).strip()


def _media_description(entry: dict[str, Any]) -> str:
    """feedparser's media_description: the media:group/media:description (YouTube)."""
    for media in entry.get("media_content") or []:
        if isinstance(media, dict) and media.get("description"):
            return str(media["description"])
    return ""


def _content(index: int, entry: dict[str, Any], doc: Document) -> list[dict[str, str]]:
    content = [
        {"value": (c.get("value") or "").strip()}  # feedparser strips element text
        for c in entry.get("content") or []
        if isinstance(c, dict)
    ]
    if not content and doc.has_encoded and b"encoded>" in doc.segment(index):
        # fastfeedparser does not always read content:encoded (RSS 1.0 items, or a
        # document that never declares the content: prefix): read it here.
        return [{"value": _encoded(doc.raw_segment(index), doc)}]
    return content


def _encoded(segment: bytes, doc: Document) -> str:
    """The text of the entry's one <content:encoded>, as feedparser gives it: CDATA as it
    stands, or the escaped markup unescaped; stripped."""
    # Searches that start with a literal, not one lazy regex over the (long) content.
    opening = _ENCODED_OPEN.search(segment)
    closing = _ENCODED_CLOSE.search(segment, opening.end()) if opening else None
    if opening is None or closing is None or _ENCODED_OPEN.search(segment, closing.end()):
        raise NotParity("content:encoded present but not in a shape read here")
    inner = segment[opening.end() : closing.start()]
    stripped = inner.strip()  # the whitespace `\s` matches in a bytes pattern
    if stripped.startswith(b"<![CDATA[") and stripped.endswith(b"]]>"):
        value = stripped[len(b"<![CDATA[") : -len(b"]]>")]
        if b"]]>" in value:
            raise NotParity("several CDATA sections in content:encoded")
        return doc.text(value).strip()
    if b"<" in inner or b"&" in _XML_REFERENCE.sub(b"", inner):
        raise NotParity("content:encoded with markup or unknown references")
    return html.unescape(doc.text(inner)).strip()


def _author(index: int, entry: dict[str, Any], doc: Document) -> str:
    """feedparser's `author`: "name (email)" when an Atom-style author has both
    (_sync_author_detail); fastfeedparser keeps the name only, or nothing for an
    atom:author inside an RSS item."""
    author = entry.get("author") or ""
    if not doc.has_email or not doc.entry_has(index, b"email"):
        # No e-mail element in this entry (the document's may be the channel owner's).
        return author
    blocks = closed_elements(doc.segment(index), _AUTHOR_OPEN, closing_tag)
    if not blocks:
        return author
    if len(blocks) > 1:
        raise NotParity("several authors with an e-mail element")
    block = blocks[0][1]
    name_match, email_match = _NAME.search(block), _EMAIL.search(block)
    if email_match is None:
        return author
    name = name_match.group(2).decode().strip() if name_match else ""
    email = email_match.group(2).decode().strip()
    if author and author != name:
        raise NotParity("author name not as expected")
    if name and email:
        return f"{name} ({email})"
    return name or email


def _utc(value: object) -> tuple[int, ...] | None:
    """An ISO timestamp as feedparser's UTC struct_time fields (seconds precision)."""
    if not value:
        return None
    if not isinstance(value, str):
        raise NotParity(f"unexpected date value {type(value).__name__}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).timetuple()[:6]

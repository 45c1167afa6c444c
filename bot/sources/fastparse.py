"""The fast path for RSS and Atom: fastfeedparser (lxml and a native extractor) instead of
feedparser, giving exactly the RawEntry fields the feedparser path gives.

fastfeedparser reads a feed about 30 to 100 times faster than feedparser but does not agree
with it everywhere. Where it differs in a way we can repair from what it returns, the
repair is here; where the difference cannot be seen or repaired, `parse_fast` raises
`NotParity` and the caller parses the document with feedparser instead. The rules below
were found by comparing both paths field by field over real samples
(tests/sources/test_fastparse.py); each says which feedparser behaviour it follows.

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

# feedparser maps these Atom content types onto MIME types; a link is the entry's
# alternate link only when its type is one of the HTML ones.
_TYPE_ALIASES = {"html": "text/html", "xhtml": "application/xhtml+xml", "text": "text/plain"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_XHTML_TYPE = re.compile(rb"""type\s*=\s*["']xhtml["']""", re.IGNORECASE)
_EMAIL_TAG = re.compile(rb"<(?:[\w-]+:)?email[\s>]")
_EMAIL_NAME = re.compile(rb"email[\s>]")  # starts with a literal: found by a fast scan
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# Unprefixed RSS items and Atom entries; a prefixed one (<rss:item>) never lines up, so a
# document using them is left to feedparser whenever a segment is needed.
_ENTRY_START = re.compile(rb"<(?:item|entry)[\s>/]")
_FEED_START = re.compile(rb"<feed\s[^>]*xmlns\s*=\s*[\"']http://www\.w3\.org/2005/Atom[\"']")
_DECLARATION = re.compile(rb"\s*<\?xml[^>]*\?>")
_OPAQUE_MARKERS = ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->"))
_OPAQUE = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
# An unprefixed body element, or content:encoded, with something in it.
_TEXT_TAG = re.compile(
    rb"<(?:description|summary|content|content:encoded)(?:\s[^>]*)?(?<!/)>\s*(?:[^\s<]|<[^/])"
)
_RSS_LINK = re.compile(rb"<link[\s>]")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_BARE_AMPERSAND = re.compile(rb"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
# A description from another namespace (media:description is read as media, not this).
_PREFIXED_DESCRIPTION = re.compile(rb"<(?!media:)[\w-]+:description[\s>]")
_DESCRIPTION = re.compile(rb"<description[\s>]")
_ATOM_ID = re.compile(rb"<id[\s>]")
_SELF_REL = re.compile(rb"""<(?:[\w-]+:)?link\s[^>]*rel\s*=\s*["']self["']""")
_HREFLESS_LINK = re.compile(rb"<link(?:>|\s(?![^>]*\bhref\s*=)[^>]*>)")
_GUID = re.compile(rb"<guid\b([^>]*)>")
_PERMALINK_VALUE = re.compile(rb"""ispermalink\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_AUTHOR_BLOCK = re.compile(rb"<((?:[\w-]+:)?author)\b[^>]*>(.*?)</\1\s*>", re.DOTALL)
_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)["']""")
_ENCODED_OPEN = re.compile(rb"<content:encoded\s*>")
_ENCODED_CLOSE = re.compile(rb"</content:encoded\s*>")
# The only references a well-formed document without a DTD can hold.
_XML_REFERENCE = re.compile(rb"&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
_TITLE = re.compile(rb"<title\b([^>]*)>(.*?)</title\s*>", re.DOTALL)
_XHTML_DIV = re.compile(
    rb"""\s*<div\s+xmlns\s*=\s*["']http://www\.w3\.org/1999/xhtml["']\s*>(.*)</div>\s*""",
    re.DOTALL,
)
_NAME = re.compile(rb"<((?:[\w-]+:)?name)\b[^>]*>([^<&]*)</\1\s*>")
_EMAIL = re.compile(rb"<((?:[\w-]+:)?email)\b[^>]*>([^<&]*)</\1\s*>")


# Off: parse_feed goes straight to feedparser (benchmarks and parity tests compare both).
ENABLED = True


class NotParity(ValueError):
    """The fast parser would not give what feedparser gives for this document."""


def parse_fast(source: str, body: bytes, content_type: str = "") -> list[RawEntry]:
    """Entries of an RSS or Atom document, as the feedparser path would give them.

    Raises NotParity where the result could differ from feedparser's, and whatever
    fastfeedparser raises (ValueError, RecursionError, ...) where it cannot read it.
    """
    if not isinstance(body, bytes):  # a str starting with http would be fetched
        raise TypeError("parse_fast takes bytes")
    _require_utf8(body, content_type)
    _require_well_formed_references(body)
    try:
        entries = _parse(body)
    except ValueError as exc:
        inner = _embedded_atom_feed(body) if "HTML page" in str(exc) else None
        if inner is None:
            raise
        body, entries = inner, _parse(inner)
    doc = _Document(body, len(entries))
    return [
        feeds.entry_to_raw(source, _as_feedparser(index, entry, doc))
        for index, entry in enumerate(entries)
    ]


def _parse(body: bytes) -> list[Any]:
    """fastfeedparser's entries without the categories, which no mention uses."""
    return list(fastfeedparser.parse(body, include_tags=False).entries)


def _require_utf8(body: bytes, content_type: str) -> None:
    """NotParity unless the document is UTF-8 by every account: feedparser lets an HTTP
    charset override the XML declaration and reads undeclared non-UTF-8 bytes as
    windows-1252, where fastfeedparser goes by the declaration or replaces them."""
    charset = _CHARSET.search(content_type)
    if charset is not None and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise NotParity(f"charset {charset.group(1)} in the content type")
    declared = _ENCODING.search(body[:200])
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise NotParity("an XML encoding other than UTF-8")
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise NotParity("bytes that are not UTF-8") from None


def _require_well_formed_references(body: bytes) -> None:
    """NotParity for an "&" that starts no XML reference outside CDATA and comments: such a
    document is not well-formed, and feedparser's lenient parser keeps "&b" where
    fastfeedparser's repair drops it."""
    position = 0
    ampersand = _BARE_AMPERSAND.search(body)
    while ampersand is not None:
        # Skip the CDATA sections and comments before it, one by one, as _without_opaque
        # would remove them; an "&" that no such section holds is a bare one. Each byte
        # is looked at about once: the search goes on only past the "&" found.
        start = body.find(b"<!", position, ampersand.start())
        if start < 0:
            raise NotParity("an & that is not an XML reference")
        position = start + 2
        for opener, closer in _OPAQUE_MARKERS:
            if body.startswith(opener, start):
                end = body.find(closer, start + len(opener))
                if end >= 0:
                    position = end + len(closer)
                break
        if position > ampersand.start():
            ampersand = _BARE_AMPERSAND.search(body, position)


def _embedded_atom_feed(body: bytes) -> bytes | None:
    """The one Atom <feed> of an XHTML page that wraps it (a misconfigured blog), with the
    page's XML declaration: what feedparser reads entries from in such a page, and what
    fastfeedparser, which refuses HTML, can read too. None if the page is not that shape."""
    starts = [m.start() for m in _FEED_START.finditer(body)]
    end = body.rfind(b"</feed>")
    if len(starts) != 1 or end < starts[0]:
        return None
    end += len(b"</feed>")
    outside = body[: starts[0]] + body[end:]
    if _ENTRY_START.search(outside):
        return None
    declaration = _DECLARATION.match(body)
    return (declaration.group(0) if declaration else b"") + body[starts[0] : end]


class _Document:
    """Byte-level facts about the document, looked up once and only when needed."""

    def __init__(self, body: bytes, count: int) -> None:
        self.body = body
        self.count = count
        self._permalink: bool | None = None
        self._xhtml: bool | None = None
        self._encoded: bool | None = None
        self._email: bool | None = None
        self._bounds: list[tuple[int, int]] | None = None
        self._segments: dict[int, bytes] = {}
        self._utf8: bool | None = None
        self._hrefless: bool | None = None
        self._prefixed_description: bool | None = None
        self._self_in_entries: bool | None = None
        self._entries_start: int | None = None

    @property
    def entries_start(self) -> int:
        """Where the first entry's markup starts: the channel or feed header before it
        (its self link, its owner's e-mail, its hrefless <link>) belongs to no entry, so
        the document-wide pre-checks below look only from here."""
        if self._entries_start is None:
            first = _ENTRY_START.search(self.body)
            self._entries_start = first.start() if first else len(self.body)
        return self._entries_start

    @property
    def has_encoded(self) -> bool:
        if self._encoded is None:
            self._encoded = b"encoded>" in self.body
        return self._encoded

    @property
    def has_email(self) -> bool:
        if self._email is None:
            self._email = _has_email_tag(self.body, self.entries_start)
        return self._email

    def segment(self, index: int) -> bytes:
        """The markup of the index-th entry, comments and CDATA removed; NotParity when
        the items in the bytes do not line up one to one with the entries found."""
        segment = self._segments.get(index)
        if segment is None:  # cleaned one at a time: most entries never need theirs
            segment = self._segments[index] = _without_opaque(self.raw_segment(index))
        return segment

    def raw_segment(self, index: int) -> bytes:
        """The markup of the index-th entry as it is (CDATA kept); NotParity as segment."""
        if self._bounds is None:
            starts = [m.start() for m in _ENTRY_START.finditer(self.body)]
            if len(starts) != self.count:
                raise NotParity("entries in the markup do not line up with entries parsed")
            self._bounds = list(zip(starts, [*starts[1:], len(self.body)], strict=True))
        start, end = self._bounds[index]
        return self.body[start:end]

    def entry_has(self, index: int, needle: bytes) -> bool:
        """Whether the index-th entry's markup holds these bytes (no copy of it made)."""
        self.raw_segment(index)  # finds the bounds
        assert self._bounds is not None
        start, end = self._bounds[index]
        return self.body.find(needle, start, end) >= 0

    def text(self, markup: bytes) -> str:
        """Bytes of this document as text; NotParity unless it is UTF-8 (the only
        encoding the repairs below decode themselves)."""
        if self._utf8 is None:
            declared = _ENCODING.search(self.body[:200])
            self._utf8 = declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
        if not self._utf8:
            raise NotParity("a repair needs the text of a document that is not UTF-8")
        try:
            return markup.decode("utf-8")
        except UnicodeDecodeError:
            raise NotParity("not UTF-8 after all") from None

    @property
    def has_prefixed_description(self) -> bool:
        if self._prefixed_description is None:
            self._prefixed_description = (
                b":description" in self.body and _PREFIXED_DESCRIPTION.search(self.body) is not None
            )
        return self._prefixed_description

    @property
    def has_hrefless_link(self) -> bool:
        if self._hrefless is None:
            self._hrefless = _HREFLESS_LINK.search(self.body, self.entries_start) is not None
        return self._hrefless

    @property
    def has_self_in_entries(self) -> bool:
        if self._self_in_entries is None:
            self._self_in_entries = self.body.find(b"self", self.entries_start) >= 0
        return self._self_in_entries

    @property
    def has_permalink_attr(self) -> bool:
        if self._permalink is None:
            # The regex ignores ASCII case; bytes.lower() lowers only ASCII: the same test.
            self._permalink = b"isPermaLink" in self.body or b"ispermalink" in self.body.lower()
        return self._permalink

    @property
    def has_xhtml_type(self) -> bool:
        if self._xhtml is None:
            self._xhtml = _XHTML_TYPE.search(self.body) is not None
        return self._xhtml


def _has_email_tag(body: bytes, start: int = 0) -> bool:
    """Whether _EMAIL_TAG is found in the body from `start` on: each "email" followed by a
    space or ">" is checked backwards for "<" or "<prefix:" in front of it."""
    for match in _EMAIL_NAME.finditer(body, start):
        before = match.start() - 1
        if before >= 0 and body[before] == ord("<"):
            return True
        if before >= 1 and body[before] == ord(":"):
            start = before - 1
            while start >= 0 and body[start] in _NAME_BYTES:
                start -= 1
            if start < before - 1 and start >= 0 and body[start] == ord("<"):
                return True
    return False


def _without_opaque(markup: bytes) -> bytes:
    """The markup with CDATA sections and comments removed, as _OPAQUE.sub(b"", markup)
    would, but with bytes.find: the lazy regex steps through a long CDATA byte by byte."""
    if b"<!" not in markup:
        return markup
    kept, position = [], 0
    start = markup.find(b"<!")
    while start >= 0:
        for opener, closer in _OPAQUE_MARKERS:
            if markup.startswith(opener, start):
                end = markup.find(closer, start + len(opener))
                if end >= 0:
                    kept.append(markup[position:start])
                    position = end + len(closer)
                    start = markup.find(b"<!", position)
                    break
        else:  # not a CDATA section or comment, or one never closed: kept as it is
            start = markup.find(b"<!", start + 2)
    kept.append(markup[position:])
    return b"".join(kept)


def _as_feedparser(index: int, entry: dict[str, Any], doc: _Document) -> dict[str, Any]:
    """The keys entry_to_raw reads, with feedparser's values."""
    link = _link(index, entry, doc)
    if not entry.get("id") and not link:
        # Identity would be a hash of title and text, where the two parsers differ most.
        raise NotParity("entry without id or link")
    if doc.has_prefixed_description:
        segment = doc.segment(index)
        if _PREFIXED_DESCRIPTION.search(segment) and _DESCRIPTION.search(segment):
            raise NotParity("a description from another namespace beside the RSS one")
    fields = {
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


def _link(index: int, entry: dict[str, Any], doc: _Document) -> str:
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
        if doc.has_hrefless_link and _HREFLESS_LINK.search(doc.segment(index)):
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


def _title(index: int, entry: dict[str, Any], doc: _Document) -> str:
    title = entry.get("title") or ""
    if not title and doc.has_xhtml_type:
        return _xhtml_title(doc.raw_segment(index), doc)
    return title


def _xhtml_title(segment: bytes, doc: _Document) -> str:
    """An Atom title of type xhtml, which fastfeedparser drops: feedparser gives the
    markup inside its <div> wrapper (still escaped, as XHTML is written)."""
    titles = _TITLE.findall(segment)
    if not titles:
        return ""
    if len(titles) > 1:
        raise NotParity("several titles in an entry with an xhtml title")
    attributes, inner = titles[0]
    if not _XHTML_TYPE.search(attributes):
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


def _content(index: int, entry: dict[str, Any], doc: _Document) -> list[dict[str, str]]:
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


def _encoded(segment: bytes, doc: _Document) -> str:
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


def _author(index: int, entry: dict[str, Any], doc: _Document) -> str:
    """feedparser's `author`: "name (email)" when an Atom-style author has both
    (_sync_author_detail); fastfeedparser keeps the name only, or nothing for an
    atom:author inside an RSS item."""
    author = entry.get("author") or ""
    if not doc.has_email or not doc.entry_has(index, b"email"):
        # No e-mail element in this entry (the document's may be the channel owner's).
        return author
    blocks = _AUTHOR_BLOCK.findall(doc.segment(index))
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

"""Byte-level facts about an RSS or Atom document, and the document-wide refusals of the
fast path (bot/sources/fastparse.py): whether the bytes are UTF-8, whether every "&" starts
an XML reference, where each entry's markup lies, which elements the document holds at all.

Everything here reads the raw bytes, never fastfeedparser's result; `NotParity` says the
fast path would not give what feedparser gives, and the caller then uses feedparser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

XHTML_TYPE = re.compile(rb"""type\s*=\s*["']xhtml["']""", re.IGNORECASE)
# The reference for has_email_tag, which finds the same without this regex's slow scan.
EMAIL_TAG = re.compile(rb"<(?:[\w-]+:)?email[\s>]")
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# Unprefixed RSS items and Atom entries; a prefixed one (<rss:item>) never lines up, so a
# document using them is left to feedparser whenever a segment is needed.
_ENTRY_START = re.compile(rb"<(?:item|entry)[\s>/]")
_FEED_START = re.compile(rb"<feed\s[^<>]*xmlns\s*=\s*[\"']http://www\.w3\.org/2005/Atom[\"']")
_DECLARATION = re.compile(rb"\s*<\?xml[^>]*\?>")
HTML_ROOT_WINDOW = 4096  # a prolog longer than this is read the slow way (see parse_fast)
_OPAQUE_MARKERS = ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->"))
# The reference for without_opaque, which removes the same with bytes.find.
OPAQUE = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
BARE_AMPERSAND = re.compile(rb"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
# A description from another namespace (media:description is read as media, not this).
PREFIXED_DESCRIPTION = re.compile(rb"<(?!media:)[\w-]+:description[\s>]")
HREFLESS_LINK = re.compile(rb"<link(?:>|\s(?![^<>]*\bhref\s*=)[^<>]*>)")
_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)["']""")


class NotParity(ValueError):
    """The fast parser would not give what feedparser gives for this document."""


def require_utf8(body: bytes, content_type: str) -> None:
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


def require_well_formed_references(body: bytes) -> None:
    """NotParity for an "&" that starts no XML reference outside CDATA and comments: such a
    document is not well-formed, and feedparser's lenient parser keeps "&b" where
    fastfeedparser's repair drops it."""
    position, unclosed = 0, set[bytes]()
    ampersand = BARE_AMPERSAND.search(body)
    while ampersand is not None:
        # Skip the CDATA sections and comments before it, one by one, as without_opaque
        # would remove them; an "&" that no such section holds is a bare one. Each byte
        # is looked at about once: the search goes on only past the "&" found.
        start = body.find(b"<!", position, ampersand.start())
        if start < 0:
            raise NotParity("an & that is not an XML reference")
        end = opaque_end(body, start, unclosed)
        position = end if end >= 0 else start + 2
        if position > ampersand.start():
            ampersand = BARE_AMPERSAND.search(body, position)


def is_html_page(body: bytes) -> bool:
    """Whether the document's root element is <html> (looked for in its first
    HTML_ROOT_WINDOW bytes only): after an optional byte order mark, only whitespace,
    processing instructions (the XML declaration), comments and a DOCTYPE may stand before
    it. One pass, each construct ended by the first terminator after it (as XML ends it), so
    no prolog can make the scan backtrack."""
    head = body[:HTML_ROOT_WINDOW]
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while position < len(head):
        if head[position : position + 1].isspace():  # the bytes `\s` matches, one at a time
            position += 1
            continue
        if head.startswith(b"<?", position):
            end = head.find(b">", position + 2)
            if end < 0 or head[end - 1 : end] != b"?" or end - 1 < position + 2:
                return False
            position = end + 1
        elif head.startswith(b"<!--", position):
            end = head.find(b"-->", position + 4)
            if end < 0:
                return False
            position = end + 3
        elif head[position : position + 9].upper() == b"<!DOCTYPE":
            end = head.find(b">", position + 9)
            if end < 0:
                return False
            position = end + 1
        else:
            tag = head[position : position + 6]
            return tag[:5].lower() == b"<html" and (tag[5:] == b">" or tag[5:].isspace())
    return False


def embedded_atom_feed(body: bytes) -> bytes | None:
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


class Document:
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
            self._email = has_email_tag(self.body, self.entries_start)
        return self._email

    def segment(self, index: int) -> bytes:
        """The markup of the index-th entry, comments and CDATA removed; NotParity when
        the items in the bytes do not line up one to one with the entries found."""
        segment = self._segments.get(index)
        if segment is None:  # cleaned one at a time: most entries never need theirs
            segment = self._segments[index] = without_opaque(self.raw_segment(index))
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
        encoding the repairs in fastparse decode themselves)."""
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
                b":description" in self.body and PREFIXED_DESCRIPTION.search(self.body) is not None
            )
        return self._prefixed_description

    @property
    def has_hrefless_link(self) -> bool:
        if self._hrefless is None:
            self._hrefless = HREFLESS_LINK.search(self.body, self.entries_start) is not None
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
            self._xhtml = XHTML_TYPE.search(self.body) is not None
        return self._xhtml


def closed_elements(
    markup: bytes, opening: re.Pattern[bytes], closing: Callable[[bytes], re.Pattern[bytes]]
) -> list[tuple[bytes, bytes]]:
    """(the opening's first group, the content) of each element whose opening tag `opening`
    finds and whose end `closing(group)` finds, as `findall` of "opening(.*?)closing" would
    give them, in one pass: the lazy `.*?` rescans the rest of the markup from every opening
    that has no end, quadratic on `<title>` × 20,000. Here an end not found after one opening
    is not looked for again (it is not after any later opening either)."""
    found: list[tuple[bytes, bytes]] = []
    unclosed: set[bytes] = set()
    start = opening.search(markup)
    while start is not None:
        group = start.group(1)
        end = None if group in unclosed else closing(group).search(markup, start.end())
        if end is None:
            unclosed.add(group)
            start = opening.search(markup, start.end())
            continue
        found.append((group, markup[start.end() : end.start()]))
        start = opening.search(markup, end.end())
    return found


@functools.lru_cache(maxsize=64)
def closing_tag(name: bytes) -> re.Pattern[bytes]:
    """The end tag of an element named `name` (prefix included), as `</\\1\\s*>` reads it."""
    return re.compile(b"</" + re.escape(name) + rb"\s*>")


def has_email_tag(body: bytes, start: int = 0) -> bool:
    """Whether EMAIL_TAG is found in the body from `start` on: each "email" followed by a
    space or ">" is checked backwards for "<" or "<prefix:" in front of it. bytes.find, not
    a regex, finds the candidates: this scan runs over every document with an author."""
    position = body.find(b"email", start)
    while position >= 0:
        after = body[position + 5 : position + 6]
        if after == b">" or after.isspace():  # the bytes `\s` matches in EMAIL_TAG
            before = position - 1
            if before >= 0 and body[before] == ord("<"):
                return True
            if before >= 1 and body[before] == ord(":"):
                name = before - 1
                while name >= 0 and body[name] in _NAME_BYTES:
                    name -= 1
                if name < before - 1 and name >= 0 and body[name] == ord("<"):
                    return True
        position = body.find(b"email", position + 5)
    return False


def without_opaque(markup: bytes) -> bytes:
    """The markup with CDATA sections and comments removed, as OPAQUE.sub(b"", markup)
    would, but with bytes.find: the lazy regex steps through a long CDATA byte by byte."""
    if b"<!" not in markup:
        return markup
    kept, position, unclosed = [], 0, set[bytes]()
    start = markup.find(b"<!")
    while start >= 0:
        end = opaque_end(markup, start, unclosed)
        if end < 0:  # not a CDATA section or comment, or one never closed: kept as it is
            start = markup.find(b"<!", start + 2)
            continue
        kept.append(markup[position:start])
        position = end
        start = markup.find(b"<!", position)
    kept.append(markup[position:])
    return b"".join(kept)


def opaque_end(markup: bytes, start: int, unclosed: set[bytes]) -> int:
    """Where the CDATA section or comment opening at `start` ends (after its closer), or -1
    if none opens there or it is never closed. `unclosed` remembers the closers found
    missing: none follows a later opener either, so the rest is never searched twice."""
    for opener, closer in _OPAQUE_MARKERS:
        if markup.startswith(opener, start):
            if closer in unclosed:
                return -1
            end = markup.find(closer, start + len(opener))
            if end < 0:
                unclosed.add(closer)
                return -1
            return end + len(closer)
    return -1

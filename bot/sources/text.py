"""HTML leftovers to plain text, for any source. Linear time on any input, so a hostile
description cannot stall a poll (tests/sources/test_linear_time.py, bench/text.py).

Every step is either a `str.find` loop that never looks at a character twice, or a tag regex
run only over the text up to the last ">", where each of its attempts succeeds at the first
">" after it, so no character is scanned twice. The classic traps, and what each step does
instead:
- unclosed comments (`<!--` × 20,000): `<!--.*?-->` rescans the rest of the text from every
  opener, quadratic; `_drop_comments` stops at the first opener with no "-->" after it, since
  no later opener can have one either.
- unclosed `<script>`/`<style>`: likewise; once a kind has no closing tag after a point, it
  is not looked for again.
- `<br` or `<a` runs with no ">": `[^>]*` scanned to the end from each "<"; after the last
  ">" nothing is scanned at all.
lxml.html and html.parser were measured as alternatives (bench/text.py): both are slower on
the short strings feeds are made of, and html.parser is itself quadratic on some inputs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

MAX_TEXT_CHARS = 20_000  # a mention is read by a person: more is never useful

_BLOCK_OPEN = re.compile(r"<(script|style)\b[^>]*>", re.IGNORECASE)
_BLOCK_CLOSE = {
    "script": re.compile(r"</script\s*>", re.IGNORECASE),
    "style": re.compile(r"</style\s*>", re.IGNORECASE),
}
_BREAK = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|p|div|li)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(markup: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not markup:
        return ""
    text = markup[: limit * 4]  # enough markup for `limit` characters of text
    if "<" in text:
        # Each step needs its opening characters; a plain substring test for them is far
        # cheaper than letting the regex look at every "<".
        if "<!--" in text:
            text = _drop_comments(text)
        # No tag ends after the last ">": the tag patterns only read the text up to it, so
        # every "<" they start from has a ">" after it and each match attempt succeeds at
        # the first one: the `[^>]*` runs never overlap (linear), and keep the fast `[^>]`.
        if "<s" in text or "<S" in text:
            text = _up_to_last_tag_end(text, _drop_blocks)
        text = _up_to_last_tag_end(text, _break_lines)
        text = _up_to_last_tag_end(text, _drop_tags)
    if "&" in text:
        text = _unescape(text)
    # str.split() splits on exactly the characters `\s` matches in a str pattern and drops
    # the ends: the same as collapsing `\s+` to one space and stripping, several times faster.
    # The controls that are also whitespace (\v, \f, \x1c-\x1f) must go before splitting.
    if text.isprintable():  # no controls, and no whitespace but " " (most titles, names)
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            text = " ".join(text.split())
        return text[:limit]
    if (  # written out: a generator costs more than these scans on a short title
        "\x0b" in text
        or "\x0c" in text
        or "\x1c" in text
        or "\x1d" in text
        or "\x1e" in text
        or "\x1f" in text
    ):
        return " ".join(_CONTROL.sub("", text).split())[:limit]
    collapsed = " ".join(text.split())
    if not collapsed.isprintable() and _CONTROL.search(collapsed):
        # Controls were in the text (none of them whitespace, so the split kept them).
        collapsed = " ".join(_CONTROL.sub("", text).split())
    return collapsed[:limit]


def _up_to_last_tag_end(text: str, step: Callable[[str], str]) -> str:
    """`step` applied to the text up to its last ">" (no tag can end after it)."""
    end = text.rfind(">") + 1
    return step(text[:end]) + text[end:] if end else text


def _break_lines(text: str) -> str:
    return _BREAK.sub(" ", text)


def _drop_tags(text: str) -> str:
    return _TAG.sub("", text)


def _drop_comments(text: str) -> str:
    """Every `<!-- ... -->` replaced by a space, as `re.sub(r"<!--.*?-->", " ", text, flags=
    re.DOTALL)` would, in one pass: an opener with no "-->" after it ends the search."""
    kept, position = [], 0
    start = text.find("<!--")
    while start >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        kept.append(text[position:start])
        kept.append(" ")
        position = end + 3
        start = text.find("<!--", position)
    kept.append(text[position:])
    return "".join(kept)


def _drop_blocks(text: str) -> str:
    """Every `<script ...>...</script>` and `<style ...>...</style>` (any case) replaced by a
    space, the nearest closing tag ending each, in one pass: a kind whose closing tag is not
    found after some opener is not looked for again (none follows a later opener either)."""
    kept, position, unclosed = [], 0, set()
    opening = _BLOCK_OPEN.search(text)
    while opening is not None:
        # The tag's second letter tells the kinds apart, whatever case folding matched.
        kind = "script" if opening.group(1)[1] in "cC" else "style"
        closing = None if kind in unclosed else _BLOCK_CLOSE[kind].search(text, opening.end())
        if closing is not None:
            kept.append(text[position : opening.start()])
            kept.append(" ")
            position = closing.end()
            opening = _BLOCK_OPEN.search(text, position)
            continue
        unclosed.add(kind)
        if len(unclosed) == len(_BLOCK_CLOSE):
            break
        opening = _BLOCK_OPEN.search(text, opening.end())
    kept.append(text[position:])
    return "".join(kept)


# The references feeds use most, replaced before html.unescape, which calls back into Python
# for every reference. Exact: a reference is matched only from its "&", which no match can
# swallow, and these values hold no "&", "#", ";", letter or digit, so they neither start a
# match nor change how a neighbour is read.
_COMMON_REFERENCES = (("&nbsp;", "\xa0"), ("&#32;", " "))


def _unescape(text: str) -> str:
    for reference, value in _COMMON_REFERENCES:
        if reference in text:
            text = text.replace(reference, value)
    if "&" not in text:
        return text
    if text.count("&") == text.count("&amp;"):
        # Only "&amp;" is left: unescaping is one pass, so the "&" it gives is never read
        # again ("&amp;lt;" is "&lt;"), and a plain replace is exact.
        return text.replace("&amp;", "&")
    return html.unescape(text)

"""HTML leftovers to plain text, for any source. Linear time on any input (no recursion,
no backtracking), so a hostile description cannot stall a poll."""

from __future__ import annotations

import html
import re

MAX_TEXT_CHARS = 20_000  # a mention is read by a person: more is never useful

_DROP = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BREAK = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|p|div|li)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(markup: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not markup:
        return ""
    text = markup[: limit * 4]  # enough markup for `limit` characters of text
    if "<" in text:
        # Each pattern needs its opening characters; a plain substring test for them is far
        # cheaper than letting the regex look at every "<".
        if "<!--" in text:
            text = _COMMENT.sub(" ", text)
        if "<s" in text or "<S" in text:
            text = _DROP.sub(" ", text)
        text = _BREAK.sub(" ", text)
        text = _TAG.sub("", text)
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

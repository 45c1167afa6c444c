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
        text = _COMMENT.sub(" ", text)
        text = _DROP.sub(" ", text)
        text = _BREAK.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROL.sub("", text)
    # str.split() splits on exactly the characters `\s` matches in a str pattern and drops
    # the ends: the same as collapsing `\s+` to one space and stripping, several times faster.
    return " ".join(text.split())[:limit]

"""Chat-neutral text helpers shared by every renderer: cleaning, trimming, ages, durations.

Pure functions. Mention text comes from strangers on the web, so every renderer cleans it
first: control characters (and the bidi overrides that can disguise a link) are removed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

ELLIPSIS = "…"

# Bidi embedding/override/isolate marks: invisible, and able to make "moc.evil" read "evil.com".
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\u00a0]+")


def clean(text: str | None, *, strip: bool = True) -> str:
    """Drop control characters (tabs become spaces, newlines stay); normalise line ends.
    `strip=False` keeps the spaces at either end (a piece of a longer line)."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    kept = [
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn")
    ]
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", "".join(kept)))
    return text.strip() if strip else text


def one_line(text: str | None) -> str:
    """`clean`, then every run of whitespace (newlines too) becomes one space."""
    return " ".join(clean(text).split())


def trim(text: str, limit: int) -> str:
    """At most `limit` characters; a cut ends in an ellipsis, on a word boundary if one is near."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.7:  # prefer a word boundary, but never lose much text for it
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def duration(seconds: float) -> str:
    """A short human duration: "45 s", "5 min", "2 h 5 min", "3 d 4 h"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(then: datetime | None, now: datetime) -> str:
    """ "just now", "5 min ago", "3 h ago" (whole units: an age needs no precision)."""
    if then is None:
        return "at an unknown time"
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    number, unit = duration(seconds).split(" ")[:2]
    return f"{number} {unit} ago"

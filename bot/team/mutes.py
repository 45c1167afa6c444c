"""Mutes: an author, a site (domain) or a phrase that a brand does not want alerted, until
an expiry. Muted mentions are still stored and searchable; they are never alerted.

Matching is pure and case-insensitive: an author by the name shown or the handle, a domain
with its subdomains (example.com mutes www.example.com, not badexample.com), a phrase as
words in the title or text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.chat.views import author_name
from bot.models import Mute, MuteKind

MAX_VALUE_CHARS = 200


def normalise(kind: MuteKind, value: str) -> str:
    """The form a mute is stored and compared in; ValueError if it cannot mute anything."""
    text = " ".join(value.split()).strip().lower()
    if kind == MuteKind.DOMAIN:
        host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
        text = host.removeprefix("www.")
        if "." not in text or not re.fullmatch(r"[a-z0-9.-]+", text):
            raise ValueError(f"“{value[:60]}” is not a domain: write e.g. example.com")
    if kind == MuteKind.AUTHOR:
        text = text.lstrip("@")
    if len(text) < 2 or len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"a {kind.value} to mute has 2 to {MAX_VALUE_CHARS} characters")
    return text


def author_keys(author: str) -> set[str]:
    """Every way a mute may name this author: as given, the name shown, the handle."""
    raw = " ".join(author.split()).lower()
    keys = {raw, raw.lstrip("@"), author_name(author).lower().lstrip("@")}
    return {k for k in keys if k}


def matches(mute: Mute, *, author: str = "", url: str = "", text: str = "") -> bool:
    if mute.kind == MuteKind.AUTHOR:
        return mute.value in author_keys(author)
    if mute.kind == MuteKind.DOMAIN:
        host = (urlsplit(url).hostname or "").lower()
        return host == mute.value or host.endswith("." + mute.value)
    words = re.escape(mute.value).replace(r"\ ", r"\s+")
    return re.search(rf"(?<!\w){words}(?!\w)", text.lower()) is not None


def matching_mute(
    mutes: Sequence[Mute], *, brand: str, author: str = "", url: str = "", text: str = ""
) -> Mute | None:
    for mute in mutes:
        if mute.brand.lower() == brand.lower() and matches(mute, author=author, url=url, text=text):
            return mute
    return None

"""How each platform counts a reply's length, as its server does, so the dialog's counter and
our check before posting agree with the platform's own refusal.

Mastodon counts grapheme clusters after replacing every URL by 23 characters and every
@user@domain by @user (its StatusLengthValidator); Bluesky counts grapheme clusters (and
refuses more than 3,000 UTF-8 bytes); Reddit counts characters.
"""

from __future__ import annotations

import regex

# Mastodon's extractor is Twitter's; this is the part of it that changes a count: http(s)
# URLs and @mentions (with or without a domain), where a mention starts a word.
_URL = regex.compile(r"https?://[^\s<>\"]+[^\s<>\"\.,;:!?\)\]'”’]")
_MENTION = regex.compile(
    r"(?<![\w/@])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w)?", regex.I
)
_GRAPHEME = regex.compile(r"\X")

MASTODON_URL_CHARS = 23


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def mastodon_length(text: str, url_chars: int = MASTODON_URL_CHARS) -> int:
    countable = _URL.sub("x" * url_chars, text)
    countable = _MENTION.sub(lambda m: "@" + m.group(1), countable)
    return graphemes(countable)


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))

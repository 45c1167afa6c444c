"""Slack mrkdwn helpers. Everything a stranger wrote goes through `escape` (or `link`).

Slack reads `<...>` as links and mentions (`<!channel>`, `<@U123>`, `<https://x|label>`) and
`&` as the start of an entity, so escaping those three characters is what keeps a mention's
text from pinging a channel or disguising a link. Sections holding such text are also sent
with `verbatim: true`, so bare URLs and #channel names are not auto-linked either.
"""

from __future__ import annotations

import re

from bot.chat.text import clean, one_line, trim

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def escape(text: str, *, strip: bool = True) -> str:
    """Slack's three reserved characters, after control characters are removed."""
    cleaned = clean(text, strip=strip)
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_line(text: str) -> str:
    return escape(one_line(text))


def escape_trim(text: str, limit: int, *, single_line: bool = False, strip: bool = True) -> str:
    """Escaped text of at most `limit` characters, cut before escaping so that an entity
    such as `&amp;` is never cut in half."""
    raw = one_line(text) if single_line else clean(text, strip=strip)
    keep = min(len(raw), limit)
    while keep > 0:
        escaped = escape(trim(raw, keep), strip=strip)
        if len(escaped) <= limit:
            return escaped
        # Each escape adds at most four characters: drop at least a quarter of the excess.
        keep -= max(1, (len(escaped) - limit) // 4)
    return ""


def user(user_id: str) -> str:
    """`<@U123>` for a real Slack user id; anything else ("system", a Teams id) as text."""
    if _USER_ID.match(user_id or ""):
        return f"<@{user_id}>"
    return escape_line(user_id) or "someone"


def safe_url(url: str) -> str:
    """A URL that cannot break out of `<url|label>`; "" unless it is http(s)."""
    url = one_line(url)
    if not url.lower().startswith(("http://", "https://")):
        return ""
    return (
        url.replace("&", "&amp;")
        .replace("<", "%3C")
        .replace(">", "%3E")
        .replace("|", "%7C")
        .replace(" ", "%20")
    )


MAX_LINK_URL = 1500  # longer URLs are not linked: they would eat a section's 3000 characters


def link(url: str, label: str, *, limit: int = 300) -> str:
    """`<url|label>` with the label escaped; the escaped label alone if the URL is unusable
    (not http(s), or absurdly long: the Open button still carries it)."""
    label = escape_trim(label, limit, single_line=True) if label else ""
    target = safe_url(url)
    if not target or len(target) > MAX_LINK_URL:
        return label or escape_trim(url, min(limit, 300) or 300, single_line=True)
    return f"<{target}|{label}>" if label else f"<{target}>"


def quote(text: str, limit: int) -> str:
    """A mrkdwn block quote of escaped text, at most `limit` characters in all."""
    raw = clean(text)
    budget = limit
    while True:
        body = escape_trim(raw, budget)
        # Our own ">" starts each line; the text's own ">" became "&gt;" and so cannot.
        quoted = "\n".join(f">{line}" for line in body.split("\n"))
        if len(quoted) <= limit or budget <= 0:
            return quoted if len(quoted) <= limit else ""
        budget -= len(quoted) - limit

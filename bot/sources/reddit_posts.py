"""Reddit's answers, read by pure functions: a search Listing and its posts, a search.rss
entry with the OAuth path's id, and the wait X-Ratelimit-Remaining/-Reset ask for. No I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.models import RawEntry
from bot.sources.base import SourceError, json_answer, reach_of

WEB = "https://www.reddit.com"  # permalinks point here, whichever host answered

_COMMENTS_PATH = re.compile(r"/comments/([a-z0-9]+)(?:/[^/?#]*/([a-z0-9]+))?", re.IGNORECASE)
FULLNAME = re.compile(r"^t[13]_[a-z0-9]+$", re.IGNORECASE)
REACH_COUNTS = ("score", "num_comments")


def post_to_entry(source: str, post: dict[str, Any]) -> RawEntry:
    """A search listing's child (`{"kind": "t3", "data": {...}}`) as a RawEntry."""
    data = post["data"]
    kind = str(post.get("kind") or "t3")
    fullname = str(data.get("name") or f"{kind}_{data['id']}")
    permalink = str(data.get("permalink") or "")
    text = _plain(str(data.get("selftext") or data.get("body") or ""), 20_000)
    if not text and not data.get("is_self", True) and data.get("url"):
        text = str(data["url"])  # a link post: where it points is what it says
    return RawEntry(
        source=source,
        external_id=f"reddit:{fullname}",
        url=WEB + permalink if permalink.startswith("/") else permalink,
        title=_plain(str(data.get("title") or data.get("link_title") or ""), 1000),
        text=text,
        author=str(data.get("author") or ""),
        published_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        reach=reach_of(data, *REACH_COUNTS),
    )


def parse_listing(body: bytes) -> tuple[list[dict[str, Any]], str]:
    """A Listing's children and its `after`; SourceError (transient) when it is not one."""
    document = json_answer(body, "reddit search")
    data = document.get("data") if isinstance(document, dict) else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(children, list):
        raise SourceError("reddit search answered JSON that is not a Listing")
    after = data.get("after")  # type: ignore[union-attr]
    posts = [c for c in children if isinstance(c, dict) and isinstance(c.get("data"), dict)]
    return posts, after if isinstance(after, str) else ""


def fullname_of(entry_id: str, link: str) -> str:
    """The fullname of a search.rss entry: its Atom id (t3_…) when it is one, else derived
    from the link (/comments/<post>/<slug>/<comment>/ → t1_<comment>, else t3_<post>)."""
    if FULLNAME.match(entry_id.strip()):
        return entry_id.strip()
    found = _COMMENTS_PATH.search(link)
    if not found:
        return ""
    return f"t1_{found.group(2)}" if found.group(2) else f"t3_{found.group(1)}"


def rss_entry(entry: RawEntry) -> RawEntry | None:
    """A parsed search.rss entry with the OAuth path's id, author and text; None without an id."""
    fullname = fullname_of(entry.external_id, entry.url)
    if not fullname:
        return None
    text = entry.text
    cut = text.rfind("submitted by /u/")  # the feed's footer: "submitted by /u/x [link] [comments]"
    if cut >= 0:
        text = text[:cut].rstrip()
    return RawEntry(
        source=entry.source,
        external_id=f"reddit:{fullname}",
        url=entry.url,
        title=entry.title,
        text=text,
        author=entry.author.removeprefix("/u/"),
        published_at=entry.published_at,
    )


def rate_wait(headers: dict[str, str]) -> float | None:
    """Seconds to wait when X-Ratelimit-Remaining says this window is spent, else None."""
    try:
        remaining = float(headers.get("x-ratelimit-remaining", ""))
        reset = float(headers.get("x-ratelimit-reset", ""))
    except ValueError:
        return None
    return max(0.0, reset) if remaining < 1 else None


def _plain(text: str, limit: int) -> str:
    # raw_json=1 gives text as written (markdown, not HTML): only whitespace and controls go.
    return " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())[:limit]

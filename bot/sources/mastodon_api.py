"""The Mastodon API's shapes, read by pure functions: statuses, ids, instance info, Link headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.models import RawEntry
from bot.sources.base import reach_of
from bot.sources.text import html_to_text
from bot.url_guard import handshake_url


def id_key(status_id: str) -> tuple[int, str]:
    """Order of ids: numerically for Mastodon's numeric strings (a longer one is larger), and
    still by time for the fixed-length ULIDs and flake ids of other servers."""
    return (len(status_id), status_id)


def newer(a: str, b: str) -> str:
    return a if not b or (a and id_key(a) > id_key(b)) else b


REACH_COUNTS = ("reblogs_count", "favourites_count", "replies_count")


def status_to_entry(source: str, status: dict[str, Any]) -> RawEntry:
    """One Status (the reblogged one for a boost) as a RawEntry. KeyError/TypeError/ValueError
    when it is not a usable Status."""
    original = status.get("reblog") or status
    uri = original.get("uri") or original.get("url")
    if not uri or not isinstance(uri, str):
        raise ValueError("status without uri")
    text = html_to_text(original.get("content") or "")
    spoiler = html_to_text(original.get("spoiler_text") or "")
    created = original.get("created_at") or ""
    published = datetime.fromisoformat(created).astimezone(UTC) if created else None
    return RawEntry(
        source=source,
        external_id=uri,
        url=original.get("url") or uri,
        title="",
        text=f"{spoiler}\n\n{text}" if spoiler else text,
        author=str((original.get("account") or {}).get("acct") or ""),
        published_at=published,
        reach=reach_of(original, *REACH_COUNTS),
    )


def streaming_base(info: dict[str, Any], instance: str) -> str:
    """Where the streaming API is served, from /api/v2 (configuration.urls.streaming) or /api/v1
    (urls.streaming_api) instance info: a ws(s):// URL, read over http(s)."""
    urls = (info.get("configuration") or {}).get("urls") or info.get("urls") or {}
    url = urls.get("streaming") or urls.get("streaming_api") or ""
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://", "http://", "https://")):
        return instance
    return handshake_url(url).rstrip("/")


def link_min_id(link: str) -> str:
    """The min_id of the `rel="prev"` link (the page of newer statuses), or ""."""
    for part in link.split(","):
        if 'rel="prev"' in part and "<" in part and ">" in part:
            query = urlsplit(part[part.index("<") + 1 : part.index(">")]).query
            return (parse_qs(query).get("min_id") or [""])[0]
    return ""


def id_from_url(url: str) -> str:
    """A status id from its web URL (https://host/@user/113560000000000001), or ""."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return last if last.isdigit() else ""


def own_status_id(uri: str, instance: str) -> str:
    """The id of a status the instance itself holds, from its ActivityPub uri
    (https://host/users/name/statuses/113560000000000001) when the host is the instance's;
    "" for another server's status (its id here is not in its uri)."""
    parts, home = urlsplit(uri), urlsplit(instance)
    if (parts.scheme, parts.netloc.lower()) != (home.scheme, home.netloc.lower()):
        return ""
    segments = parts.path.strip("/").split("/")
    if len(segments) == 4 and segments[0] == "users" and segments[2] == "statuses":
        return segments[3] if segments[3].isdigit() else ""
    return ""


def id_of_status(status: Any) -> str:
    value = status.get("id") if isinstance(status, dict) else None
    return value if isinstance(value, str) and value.isalnum() else ""

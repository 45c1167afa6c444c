"""Jetstream's events, read by pure functions: a message as an event, a created post as a
RawEntry, its publication time, and the subscribe URL with our query. No I/O."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.models import RawEntry
from bot.sources.text import MAX_TEXT_CHARS

POST = "app.bsky.feed.post"
# A record key as atproto allows it; anything else is not put into a URL.
RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2048}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # line breaks are kept
CLOCK_SKEW = timedelta(minutes=10)  # createdAt later than this after Jetstream saw it: invented


class Malformed(ValueError):
    """A message that is not a Jetstream event we can read."""


def parse_event(raw: bytes | str) -> dict[str, Any]:
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"not JSON ({str(exc)[:80]})") from None
    if not isinstance(event, dict):
        raise Malformed(f"a JSON {type(event).__name__}, not an object")
    time_us = event.get("time_us")
    if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
        raise Malformed("no time_us")
    if not isinstance(event.get("kind"), str):
        raise Malformed("no kind")
    return event


def post_of(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    """(did, rkey, record) of a created post; None for anything else (deletes, likes, ...)."""
    commit = event.get("commit")
    if event["kind"] != "commit" or not isinstance(commit, dict):
        return None
    if commit.get("operation") != "create" or commit.get("collection") != POST:
        return None
    did, rkey, record = event.get("did"), commit.get("rkey"), commit.get("record")
    if not isinstance(did, str) or not DID.fullmatch(did):
        raise Malformed("a post without a valid did")
    if not isinstance(rkey, str) or not RKEY.fullmatch(rkey):
        raise Malformed("a post without a valid rkey")
    if not isinstance(record, dict):
        raise Malformed("a post without a record")
    return did, rkey, record


def post_to_entry(source: str, event: dict[str, Any]) -> RawEntry | None:
    """The entry for a created post with text; None for any other event."""
    post = post_of(event)
    if post is None:
        return None
    did, rkey, record = post
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return None  # an image-only post or reply: nothing to match
    return RawEntry(
        source=source,
        external_id=f"at://{did}/{POST}/{rkey}",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        title="",
        text=_CONTROL.sub("", text.strip())[:MAX_TEXT_CHARS],
        author=did,
        published_at=published_at(record.get("createdAt"), event["time_us"]),
    )


def published_at(created_at: object, time_us: int) -> datetime:
    """createdAt is set by the client: trusted unless unreadable or in the future of the
    moment Jetstream saw the post; then that moment."""
    seen = datetime.fromtimestamp(time_us / 1_000_000, UTC)
    if isinstance(created_at, str):
        try:
            when = datetime.fromisoformat(created_at)
        except ValueError:
            return seen
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        if when <= seen + CLOCK_SKEW:
            return when
    return seen


def subscribe_url(base: str, cursor: int | None, max_bytes: int) -> str:
    """The base URL with our query: posts only, our size cap and the cursor; what the base
    URL's query says otherwise is kept."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    ours = {"wantedCollections", "maxMessageSizeBytes", "cursor"}
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ours]
    query += [("wantedCollections", POST), ("maxMessageSizeBytes", str(max_bytes))]
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit((scheme, parts.netloc, parts.path or "/subscribe", urlencode(query), ""))

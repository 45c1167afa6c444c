"""RSS, Atom and JSON Feed sources: Google Alerts, Google News, Reddit search, hnrss,
Mastodon tags, Bluesky profiles, YouTube channels and any other feed.

Bytes come from the one HTTP seam (bot/http.py), never from feedparser itself, so every
fetch is guarded, bounded and conditional. XML that could define entities is refused before
parsing (bot/sources/xml_guard.py): real feeds never need them, and they are how
entity-expansion bombs and external entity (XXE) reads work.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot.config import SourceConfig
from bot.http import FetchError, FetchResponse, HttpFetcher
from bot.matching import REDIRECTORS, unwrap_redirect
from bot.models import RawEntry
from bot.sources import fastparse
from bot.sources.base import FeedState, FetchResult, SourceError
from bot.sources.parse_pool import InlineParser, OverBudgetError, Parser
from bot.sources.retry import (
    MAX_WAIT,
    log_retry,
    retry_wait,
    retrying,
    source_error,
    worth_retrying,
)
from bot.sources.text import html_to_text
from bot.sources.xml_guard import refuse_dtd

log = logging.getLogger(__name__)


class FeedSource:
    """A feed fetched through the HTTP seam; on the poller's path its documents are parsed by
    `parser` (bot/sources/parse_pool.py: worker processes with a time budget), and a
    document whose bytes are the same as last time is not parsed again: a server that
    ignores conditional GET costs a hash, not a parse."""

    def __init__(
        self,
        name: str,
        url: str,
        fetcher: HttpFetcher,
        *,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT,
        parser: Parser | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.fetcher = fetcher
        self.attempts = max(1, attempts)
        self.sleep = sleep
        self.max_wait = max_wait
        self.parser = parser or InlineParser()
        # The digest of the last document parsed, and the refusal it got (if permanent):
        # the same bytes get the same answer without parsing.
        self._last: tuple[bytes, SourceError | None] | None = None

    def fetch(self, state: FeedState) -> FetchResult:
        try:
            response = retrying(self.name, self.attempts, self.sleep, self.max_wait)(
                self.fetcher.get, self.url, etag=state.etag, last_modified=state.last_modified
            )
        except FetchError as exc:
            raise source_error(exc) from None
        unchanged = self._unchanged(state, response)
        if unchanged is not None:
            return unchanged
        content_type = response.headers.get("content-type", "")
        return self._parsed(
            state, response, lambda: parse_feed(self.name, response.body, content_type)
        )

    async def fetch_async(self, state: FeedState) -> FetchResult:
        """`fetch` from an event loop (the poller's path), with the same retry policy; a
        plain loop rather than tenacity, whose per-call set-up costs more than a 304. The
        parse runs off the loop, in the parser's workers."""
        response = await self._get_async(state)
        unchanged = self._unchanged(state, response)
        if unchanged is not None:
            return unchanged
        content_type = response.headers.get("content-type", "")
        try:
            entries = await self.parser.parse(self.name, response.body, content_type)
        except SourceError as exc:
            self._remember(response.body, exc)
            raise
        return self._parsed(state, response, lambda: entries)

    async def _get_async(self, state: FeedState) -> FetchResponse:
        fetcher = self.fetcher.async_fetcher()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await fetcher.get(
                    self.url, etag=state.etag, last_modified=state.last_modified
                )
            except FetchError as exc:
                if attempt >= self.attempts or not worth_retrying(exc, self.max_wait):
                    raise source_error(exc) from None
                delay = retry_wait(exc, attempt, self.max_wait)
                log_retry(self.name, attempt, exc)
            if self.sleep is time.sleep:
                await asyncio.sleep(delay)
            else:  # a test's sleep
                self.sleep(delay)

    def _unchanged(self, state: FeedState, response: FetchResponse) -> FetchResult | None:
        """The result when there is nothing to parse: a 304, or the same bytes as last time
        (then also the same refusal, if the last one was refused for good)."""
        min_wait = cache_max_age(response.headers.get("cache-control", ""))
        if response.status == 304:
            return FetchResult([], state, not_modified=True, min_wait=min_wait)
        if self._last is None or self._last[0] != _digest(response.body):
            return None
        if self._last[1] is not None:
            error = self._last[1]
            raise SourceError(str(error), permanent=error.permanent, retry_after=error.retry_after)
        return FetchResult([], _state_of(state, response), not_modified=True, min_wait=min_wait)

    def _parsed(
        self, state: FeedState, response: FetchResponse, parse: Callable[[], list[RawEntry]]
    ) -> FetchResult:
        try:
            entries = parse()
        except SourceError as exc:
            self._remember(response.body, exc)
            raise
        self._remember(response.body, None)
        min_wait = cache_max_age(response.headers.get("cache-control", ""))
        return FetchResult(entries, _state_of(state, response), min_wait=min_wait)

    def _remember(self, body: bytes, error: SourceError | None) -> None:
        # A refusal that another try could change (a busy machine ran over the time budget,
        # a worker died) is not remembered: the next poll parses again.
        if error is not None and (not error.permanent or isinstance(error, OverBudgetError)):
            self._last = None
            return
        self._last = (_digest(body), error)


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


def _state_of(state: FeedState, response: FetchResponse) -> FeedState:
    return FeedState(etag=response.etag, last_modified=response.last_modified, cursor=state.cursor)


def build_source(
    config: SourceConfig, fetcher: HttpFetcher, settings: Any = None, parser: Parser | None = None
) -> FeedSource:
    attempts = getattr(settings, "fetch_retries", 3) if settings is not None else 3
    return FeedSource(config.name, config.url, fetcher, attempts=attempts, parser=parser)


# A server's max-age is honoured up to this; beyond it we would miss mentions for too long.
MAX_HONOURED_MAX_AGE = 3600.0


def cache_max_age(cache_control: str) -> float | None:
    """`Cache-Control: max-age=N` as seconds (capped), or None."""
    for part in cache_control.lower().split(","):
        key, _, value = part.strip().partition("=")
        if key in ("s-maxage", "max-age") and value.strip().isdigit():
            return min(float(value.strip()), MAX_HONOURED_MAX_AGE)
    return None


# A JSON Feed's first non-blank byte; a regex, because body.lstrip() would copy the body.
_JSON_START = re.compile(rb"\s*\{")


def parse_feed(source: str, body: bytes, content_type: str = "") -> list[RawEntry]:
    """Entries of a feed document; SourceError when nothing usable is in it."""
    if _JSON_START.match(body):
        return parse_json_feed(source, body)
    refuse_dtd(body, content_type)  # the whole document, in every encoding it may be read in
    # The fast path first; feedparser where it raises (anything, RecursionError included)
    # or finds nothing. fastfeedparser parses with lxml's huge_tree=True, which lifts
    # libxml2's size and depth limits: that is safe only because the body is already
    # capped by the fetcher (HttpFetcher.max_bytes, settings.max_feed_bytes) before it
    # gets here. Callers that parse bytes from elsewhere must cap them too.
    if fastparse.ENABLED:
        try:
            entries = fastparse.parse_fast(source, body, content_type)
        except Exception as exc:
            log.debug("source %s: fast path declined (%s), using feedparser", source, exc)
            entries = []
        if entries:
            return entries
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser is robust, but a crash here must not stop a poll
        raise SourceError(f"could not parse the feed: {type(exc).__name__}: {exc}") from None
    if not parsed.entries:
        if parsed.get("bozo"):
            error = parsed.get("bozo_exception")
            raise SourceError(f"not a readable feed: {type(error).__name__}: {error}"[:300])
        version = parsed.get("version") or ""
        if not version and not parsed.get("feed"):
            raise SourceError("not a feed: no RSS, Atom or JSON Feed structure found")
        return []
    if parsed.get("bozo"):
        log.debug("source %s: ill-formed feed, %d entries recovered", source, len(parsed.entries))
    return [entry_to_raw(source, entry) for entry in parsed.entries]


def parse_json_feed(source: str, body: bytes) -> list[RawEntry]:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser 6.0 does not read."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"not a readable JSON feed: {type(exc).__name__}") from None
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise SourceError("not a JSON Feed: no items list")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        author = authors[0].get("name", "") if authors and isinstance(authors[0], dict) else ""
        entries.append(
            entry_to_raw(
                source,
                {
                    "id": str(item.get("id") or ""),
                    "link": str(item.get("url") or item.get("external_url") or ""),
                    "title": str(item.get("title") or ""),
                    "summary": str(item.get("content_html") or item.get("content_text")
                                   or item.get("summary") or ""),
                    "author": str(author or ""),
                    "published_parsed": _iso_struct(item.get("date_published")),
                    "updated_parsed": _iso_struct(item.get("date_modified")),
                },
            )
        )  # fmt: skip
    return entries


def _iso_struct(value: object) -> tuple[int, ...] | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.timetuple()[:6]


def entry_to_raw(source: str, entry: Any) -> RawEntry:
    title = html_to_text(entry.get("title", ""), limit=1000)
    text = _entry_text(entry)
    link = entry.get("link", "") or ""
    url = unwrap_redirect(link) if _may_be_redirect(link) else link
    external_id = str(entry.get("id") or entry.get("guid") or url or "").strip()
    if not external_id:
        digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:32]
        external_id = f"sha256:{digest}"
    return RawEntry(
        source=source,
        external_id=external_id[:1000],
        url=url,
        title=title,
        text=text,
        author=_author(entry),
        published_at=_published(entry),
    )


_REDIRECT_PATHS = tuple({path for _, path in REDIRECTORS})


def _may_be_redirect(link: str) -> bool:
    """False only where unwrap_redirect would return the link unchanged: its path is a
    substring of the link unless urlsplit had characters to drop. Saves a urlsplit for
    nearly every entry."""
    for path in _REDIRECT_PATHS:  # loops, not any(): this runs for every entry
        if path in link:
            return True
    return "\t" in link or "\r" in link or "\n" in link  # what urlsplit drops before splitting


def _entry_text(entry: Any) -> str:
    candidates = [c.get("value", "") for c in entry.get("content") or [] if isinstance(c, dict)]
    candidates.append(entry.get("summary", "") or "")
    candidates.append(entry.get("media_description", "") or "")  # YouTube
    best = max(candidates, key=len, default="")
    return html_to_text(best)


def _author(entry: Any) -> str:
    author = entry.get("author") or ""
    if not author:
        detail = entry.get("author_detail") or {}
        author = detail.get("name") or ""
    return html_to_text(str(author), limit=200)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                year, month, day, hour, minute, second = value[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None

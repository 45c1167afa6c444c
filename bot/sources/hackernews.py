"""Hacker News stories and comments from the Algolia HN Search API (hn.algolia.com/api).

`search_by_date` returns the newest hits first, 100 a page. Algolia has no OR in `query` (every
word must match), so the watch list's `a OR "b c"` becomes one search per phrase, merged by
objectID. The cursor is the newest `created_at_i` seen; each poll asks from a little before it
(`created_at_i>=cursor-overlap`), because Algolia indexes an item seconds to minutes after it
was posted, with the time it was posted: an item indexed late would otherwise fall behind the
cursor. What the overlap fetches again is dropped here (ids handed on already) and, after a
restart, by the store's dedup. A new source (no cursor) reads the last hour only, one page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from bot.config import ConfigError, SourceConfig
from bot.http import FetchError, HttpFetcher, redact
from bot.models import RawEntry
from bot.sources.base import (
    FeedState,
    FetchResult,
    RecentIds,
    SourceError,
    SourceLimits,
    json_answer,
    reach_of,
)
from bot.sources.retry import retrying, source_error
from bot.sources.text import html_to_text

log = logging.getLogger(__name__)

HITS_PER_PAGE = 100  # Algolia's most per request
MAX_REACH_ITEMS = 50  # items refreshed per call: open alerts, not the whole history
REACH_BUDGET = 15.0  # seconds per refresh: a slow API must not hold up the team's reminders
ITEM_URL = "https://news.ycombinator.com/item?id="
SEEN_IDS = 5000  # ids remembered to drop what the overlap fetches again

LIMITS = SourceLimits(
    min_interval=30.0,
    default_interval=60.0,
    # hn.algolia.com/api: "We are limiting the number of API requests from a single IP to
    # 10,000 per hour."
    requests_per_minute=10_000 / 60,
)


def phrases(query: str) -> list[str]:
    """`a OR "b c"` (bot.config.search_query) as the searches to run: ["a", '"b c"']."""
    seen: dict[str, None] = {}
    for part in query.split(" OR "):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return list(seen)


def hit_to_entry(source: str, hit: dict[str, Any]) -> RawEntry:
    """One Algolia hit (a story or a comment) as a RawEntry. KeyError/TypeError/ValueError on a
    hit without objectID or created_at_i."""
    object_id = str(hit["objectID"]).strip()
    if not object_id:
        raise ValueError("empty objectID")
    published = datetime.fromtimestamp(int(hit["created_at_i"]), UTC)
    tags = hit.get("_tags") or []
    if "comment" in tags or (hit.get("comment_text") and not hit.get("title")):
        story = html_to_text(str(hit.get("story_title") or ""), limit=1000)
        # The item number makes each comment's title its own: the pipeline's dedup keys a
        # titled entry by its title alone (bot.matching.text_key), so every comment in one
        # thread titled "Comment on <story>" would be stored as one mention.
        title = f"Comment on {story or 'Hacker News'} (#{object_id})"
        text = html_to_text(str(hit.get("comment_text") or ""))
    else:
        title = html_to_text(str(hit.get("title") or ""), limit=1000)
        body = html_to_text(str(hit.get("story_text") or ""))
        # The title leads the text, so a link story (no text of its own) has some to score.
        text = f"{title}\n{body}" if body else title
    return RawEntry(
        source=source,
        external_id=f"hn:{object_id}",
        url=ITEM_URL + object_id,
        title=title,
        text=text,
        author=html_to_text(str(hit.get("author") or ""), limit=200),
        published_at=published,
        reach=_reach(hit),
    )


def _reach(hit: dict[str, Any]) -> int | None:
    """Points and comments, as Hacker News counts them (a comment has neither)."""
    return reach_of(hit, "points", "num_comments")


def count_replies(children: Any, limit: int = 100_000) -> int:
    """Comments in an item's tree (Algolia's items endpoint nests them as children)."""
    count, stack = 0, [children]
    while stack and count < limit:
        node = stack.pop()
        if isinstance(node, list):
            for child in node:
                if isinstance(child, dict):
                    count += 1
                    stack.append(child.get("children"))
    return count


def parse_page(body: bytes) -> tuple[list[dict[str, Any]], int]:
    """An Algolia answer's hits and nbPages; SourceError (transient) when it is not one."""
    document = json_answer(body, "hacker news search")
    if not isinstance(document, dict) or not isinstance(document.get("hits"), list):
        raise SourceError("hacker news search answered JSON without a hits list")
    pages = document.get("nbPages")
    hits = [h for h in document["hits"] if isinstance(h, dict)]
    return hits, pages if isinstance(pages, int) else 1


class HackerNewsSource:
    def __init__(
        self,
        name: str,
        api_url: str,
        query: str,
        fetcher: HttpFetcher,
        *,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        max_pages: int = 10,
        first_window: float = 3600.0,
        overlap: int = 300,
    ) -> None:
        self.name = name
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.phrases = phrases(query)
        if not self.phrases:
            raise ConfigError(f"hacker news source {name!r}: no query (and no brand terms)")
        self.fetcher, self.clock, self.sleep = fetcher, clock, sleep
        self.attempts, self.max_pages = attempts, max(1, max_pages)
        self.first_window, self.overlap = first_window, max(0, overlap)
        self.limits = LIMITS
        self._seen = RecentIds(SEEN_IDS)

    def fetch(self, state: FeedState) -> FetchResult:
        cursor = _int(state.cursor)
        if cursor is None:  # a new source: the last hour, the newest page of each phrase
            since, pages = int(self.clock() - self.first_window), 1
        else:
            since, pages = max(0, cursor - self.overlap), self.max_pages
        hits: dict[str, dict[str, Any]] = {}
        for phrase in self.phrases:
            for hit in self._search(phrase, since, pages):
                hits.setdefault(str(hit.get("objectID", "")), hit)
        newest = cursor if cursor is not None else since
        entries = []
        for hit in sorted(hits.values(), key=_created):
            try:
                entry = hit_to_entry(self.name, hit)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("hacker news %s: skipped a malformed hit (%s: %s)",
                            self.name, type(exc).__name__, exc)  # fmt: skip
                continue
            newest = max(newest, _created(hit))
            if self._seen.add(entry.external_id):
                entries.append(entry)
        return FetchResult(entries, FeedState(cursor=str(newest)))

    def reach(self, external_ids: Sequence[str]) -> dict[str, int]:
        """The current points and comments of these items (one request each; an item that
        does not answer is left out and tried again at the next refresh)."""
        found: dict[str, int] = {}
        deadline = time.monotonic() + REACH_BUDGET
        for external_id in external_ids[:MAX_REACH_ITEMS]:
            if time.monotonic() > deadline:
                log.info("hacker news %s: reach refresh out of time; the rest next time", self.name)
                break
            item = external_id.removeprefix("hn:")
            if not item.isdigit():
                continue
            try:
                response = self.fetcher.get(f"{self.api_url}items/{item}")
                document = json_answer(response.body, "hacker news item")
            except (FetchError, SourceError) as exc:
                log.info("hacker news %s: no reach for %s (%s)", self.name, item, exc)
                continue
            if not isinstance(document, dict):
                continue
            points = document.get("points")
            found[external_id] = max(0, points if isinstance(points, int) else 0) + (
                count_replies(document.get("children"))
            )
        return found

    def check(self) -> str:
        """One search per phrase over the last hour: the API answers, and what it finds."""
        since = int(self.clock() - 3600)
        found = sum(len(self._search(phrase, since, 1)) for phrase in self.phrases)
        return f"hn search ok: {found} hits in the last hour"

    def _search(self, phrase: str, since: int, pages: int) -> list[dict[str, Any]]:
        hits: list[dict[str, Any]] = []
        for page in range(pages):
            params = {
                "query": phrase,
                "tags": "(story,comment)",
                "numericFilters": f"created_at_i>={since}",
                "hitsPerPage": str(HITS_PER_PAGE),
                "page": str(page),
            }
            url = f"{self.api_url}search_by_date?{urlencode(params)}"
            try:
                response = retrying(self.name, self.attempts, self.sleep)(self.fetcher.get, url)
            except FetchError as exc:
                raise source_error(exc) from None
            page_hits, nb_pages = parse_page(response.body)
            hits += page_hits
            if page + 1 >= nb_pages or not page_hits:
                return hits
        if pages > 1:
            log.warning("hacker news %s: more than %d hits for %r since the last poll; the "
                        "oldest were skipped (%s)", self.name, pages * HITS_PER_PAGE, phrase,
                        redact(self.api_url))  # fmt: skip
        return hits


def _created(hit: dict[str, Any]) -> int:
    value = hit.get("created_at_i")
    return value if isinstance(value, int) else 0


def _int(text: str) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None  # a cursor from another kind of source: start afresh


def build(
    config: SourceConfig,
    settings: Any,
    fetcher: HttpFetcher,
    *,
    matches: Callable[[str], bool] | None = None,
) -> HackerNewsSource:
    """`matches` is unused: the search is already narrowed to the brand's terms."""
    return HackerNewsSource(
        config.name or "hackernews",
        getattr(settings, "hackernews_api_url", "https://hn.algolia.com/api/v1/"),
        config.query,
        fetcher,
        attempts=getattr(settings, "fetch_retries", 3),
    )

"""Reddit posts that mention a brand: the OAuth search API with an app-only token when
REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are set, else the public search.rss feed.

OAuth: a client_credentials token from `<auth>/api/v1/access_token` (HTTP basic auth), kept
until a minute before it expires and fetched again on a 401; then `<api>/search?sort=new`,
paged with `after` back to the cursor. Reddit's search finds posts (type=link) only: its `type`
parameter takes sr, link and user, and no API searches comments, so comments are not covered.
The cursor is the newest `created_utc` seen, and each poll reads back to a little before it,
since a post reaches the search index after it is posted (`before=<fullname>` is not used: it
answers nothing once that post is removed from the results, and the source would stall).

Without credentials, search.rss is polled with conditional GET. Both paths give a post the id
`reddit:<fullname>` (t3_…), so switching between them stores nothing twice. X-Ratelimit-Remaining
and -Reset are honoured (FetchResult.min_wait), and a 429's Retry-After ends the poll.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.config import ConfigError, SourceConfig
from bot.http import (
    REDIRECT_STATUSES,
    BodyReader,
    FetchError,
    HttpFetcher,
    classify,
    parse_retry_after,
    redact,
)
from bot.sources.base import (
    FeedState,
    FetchResult,
    RecentIds,
    SourceError,
    SourceLimits,
    json_answer,
    reach_of,
)
from bot.sources.feeds import parse_feed
from bot.sources.reddit_posts import (
    FULLNAME,
    REACH_COUNTS,
    WEB,
    parse_listing,
    post_to_entry,
    rate_wait,
    rss_entry,
)
from bot.sources.retry import retrying, source_error

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # the most a listing gives per request
SEEN_IDS = 5000
TOKEN_MARGIN = 60.0  # a token this close to expiry is renewed before use

LIMITS = SourceLimits(
    min_interval=60.0,
    default_interval=120.0,
    # Reddit's free Data API tier since July 2023: 100 queries per minute per OAuth client id
    # (averaged over 10 minutes); 10 per minute without OAuth.
    requests_per_minute=100.0,
    # Optional: without them the public search.rss feed is read instead.
    needs=("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"),
)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


# ---- the source --------------------------------------------------------------------------


class RedditSource:
    def __init__(
        self,
        name: str,
        query: str,
        fetcher: HttpFetcher,
        *,
        client_id: str = "",
        client_secret: str = "",
        site_url: str = WEB,
        auth_url: str = WEB,
        api_url: str = "https://oauth.reddit.com",
        user_agent: str = "mentionbot",
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        max_pages: int = 5,
        overlap: float = 300.0,
    ) -> None:
        if not query.strip():
            raise ConfigError(f"reddit source {name!r}: no query (and no brand terms)")
        self.name, self.query, self.fetcher = name, query, fetcher
        self.client_id, self.client_secret = client_id, client_secret
        self.site_url, self.auth_url = site_url.rstrip("/"), auth_url.rstrip("/")
        self.api_url, self.user_agent = api_url.rstrip("/"), user_agent
        self.clock, self.attempts, self.sleep = clock, attempts, sleep
        self.max_pages, self.overlap = max(1, max_pages), overlap
        self.limits = LIMITS
        self._token, self._token_expires = "", 0.0
        self._seen = RecentIds(SEEN_IDS)

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def fetch(self, state: FeedState) -> FetchResult:
        return self._fetch_oauth(state) if self.oauth else self._fetch_rss(state)

    def check(self) -> str:
        if self.oauth:
            self._token = ""
            self._ensure_token()
            left = self._token_expires - self.clock()
            posts, _after, _answer = self._search_page("", limit=25)
            return f"reddit oauth ok (token expires in {left:.0f} s), {len(posts)} posts"
        response = self._get_rss("", "")
        entries = parse_feed(self.name, response.body, response.headers.get("content-type", ""))
        return f"reddit search.rss ok (no REDDIT_CLIENT_ID/SECRET), {len(entries)} posts"

    def reach(self, external_ids: Sequence[str]) -> dict[str, int]:
        """Score plus comments now, for the posts given (`reddit:t3_…`), in one request to
        /api/info: with the OAuth token when there is one, else the public JSON."""
        names = [e.removeprefix("reddit:") for e in external_ids if e.startswith("reddit:")]
        names = [n for n in names if FULLNAME.match(n)][:PAGE_LIMIT]
        if not names:
            return {}
        query = urlencode({"id": ",".join(names), "raw_json": "1"})
        if self.oauth:
            answer = self._authorised_get(f"{self.api_url}/api/info?{query}")
        else:
            url = f"{self.site_url}/api/info.json?{query}"
            answer = self._checked(self._call("GET", url, {"Accept": "application/json"}), url)
        posts, _after = parse_listing(answer.body)
        found: dict[str, int] = {}
        for post in posts:
            name, value = post["data"].get("name"), reach_of(post["data"], *REACH_COUNTS)
            if isinstance(name, str) and name in names and value is not None:
                found[f"reddit:{name}"] = value
        return found

    # ---- OAuth ------------------------------------------------------------------------------

    def _fetch_oauth(self, state: FeedState) -> FetchResult:
        cursor = _float(state.cursor)
        floor = cursor - self.overlap if cursor is not None else None
        pages = self.max_pages if cursor is not None else 1  # a new source: the newest page
        posts: list[dict[str, Any]] = []
        after, min_wait = "", None
        for _page in range(pages):
            page, after, answer = self._search_page(after)
            posts += page
            min_wait = rate_wait(answer.headers)
            reached = floor is None or any(_created(p) < floor for p in page)
            if reached or not after or min_wait is not None:
                break
        else:
            log.warning("reddit %s: more than %d posts since the last poll; the oldest were "
                        "skipped", self.name, pages * PAGE_LIMIT)  # fmt: skip
        entries, newest = [], cursor or 0.0
        for post in sorted(posts, key=_created):
            if floor is not None and _created(post) < floor:
                continue
            try:
                entry = post_to_entry(self.name, post)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("reddit %s: skipped a malformed post (%s: %s)",
                            self.name, type(exc).__name__, exc)  # fmt: skip
                continue
            newest = max(newest, _created(post))
            if self._seen.add(entry.external_id):
                entries.append(entry)
        cursor_text = _cursor(newest) if newest else state.cursor
        return FetchResult(entries, FeedState(state.etag, state.last_modified, cursor_text),
                           min_wait=min_wait)  # fmt: skip

    def _search_page(
        self, after: str, limit: int = PAGE_LIMIT
    ) -> tuple[list[dict[str, Any]], str, Answer]:
        params = {"q": self.query, "sort": "new", "limit": str(limit), "type": "link",
                  "raw_json": "1"} | ({"after": after} if after else {})  # fmt: skip
        url = f"{self.api_url}/search?{urlencode(params)}"
        answer = self._authorised_get(url)
        posts, next_after = parse_listing(answer.body)
        return posts, next_after, answer

    def _authorised_get(self, url: str) -> Answer:
        """GET with the bearer token; a 401 gets a new token and one more try."""
        for attempt in (1, 2):
            self._ensure_token()
            headers = {"Authorization": f"bearer {self._token}", "Accept": "application/json"}
            answer = self._call("GET", url, headers)
            if answer.status != 401:
                return self._checked(answer, url)
            self._token = ""
            if attempt == 1:
                log.info("reddit %s: token refused (401); fetching a new one", self.name)
        raise SourceError("reddit refused a fresh OAuth token (401): check the app's "
                          "REDDIT_CLIENT_ID/SECRET", permanent=True)  # fmt: skip

    def _ensure_token(self) -> None:
        if self._token and self.clock() < self._token_expires - TOKEN_MARGIN:
            return
        pair = f"{self.client_id}:{self.client_secret}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair).decode(),
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        url = f"{self.auth_url}/api/v1/access_token"
        answer = self._call("POST", url, headers, b"grant_type=client_credentials")
        if answer.status in (400, 401, 403):
            raise SourceError(f"reddit refused REDDIT_CLIENT_ID/SECRET (HTTP {answer.status} "
                              "from the token endpoint)", permanent=True)  # fmt: skip
        self._checked(answer, url)
        document = json_answer(answer.body, "reddit's token endpoint")
        token = document.get("access_token") if isinstance(document, dict) else None
        expires = document.get("expires_in") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires, int | float):
            # Reddit answers 200 {"error": "unsupported_grant_type"} and the like: permanent.
            error = document.get("error", "") if isinstance(document, dict) else ""
            raise SourceError(f"reddit's token endpoint gave no token ({error or 'no fields'})",
                              permanent=bool(error))  # fmt: skip
        self._token, self._token_expires = token, self.clock() + float(expires)

    def _checked(self, answer: Answer, url: str) -> Answer:
        try:
            classify(answer.status, httpx.Headers(answer.headers), url, self.fetcher.max_bytes)
        except FetchError as exc:
            raise source_error(exc) from None
        return answer

    def _call(self, method: str, url: str, headers: dict[str, str], data: bytes = b"") -> Answer:
        """One request through the fetcher's guard, caps and deadline, retried when it fails
        transiently (5xx, timeouts, a short Retry-After). Redirects are refused, never
        followed: the token must not go anywhere else."""

        def once() -> Answer:
            answer = self._send(method, url, headers, data)
            if answer.status in (408, 429) or answer.status >= 500:
                retry = parse_retry_after(answer.headers.get("retry-after", ""))
                if retry is None and answer.status == 429:  # then the window's end
                    retry = _float(answer.headers.get("x-ratelimit-reset", ""))
                raise FetchError(f"HTTP {answer.status} from {redact(url)}", retry_after=retry)
            return answer

        try:
            return retrying(self.name, self.attempts, self.sleep)(once)
        except FetchError as exc:
            raise source_error(exc) from None

    def _send(self, method: str, url: str, headers: dict[str, str], data: bytes) -> Answer:
        fetcher = self.fetcher
        fetcher.guard.check(url, resolve=False)  # names: checked on connecting
        deadline = time.monotonic() + fetcher.timeout
        headers = {"User-Agent": self.user_agent} | headers
        try:
            with fetcher.client.stream(method, url, headers=headers, content=data or None) as r:
                if r.status_code in REDIRECT_STATUSES:
                    raise FetchError(f"{redact(url)} answered with a redirect; not followed",
                                     permanent=True)  # fmt: skip
                reader = BodyReader(r.headers, url, fetcher.max_bytes)
                for raw in r.iter_raw():
                    if time.monotonic() > deadline:
                        raise FetchError(f"{redact(url)} took longer than {fetcher.timeout:.0f} s")
                    reader.feed(raw)
                lowered = {k.lower(): v for k, v in r.headers.items()}
                return Answer(r.status_code, lowered, reader.bytes())
        except httpx.TimeoutException:
            raise FetchError(f"timed out fetching {redact(url)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {redact(url)}: {type(exc).__name__}") from None

    # ---- search.rss -----------------------------------------------------------------------

    def _fetch_rss(self, state: FeedState) -> FetchResult:
        response = self._get_rss(state.etag, state.last_modified)
        min_wait = rate_wait(response.headers)
        if response.status == 304:
            return FetchResult([], state, not_modified=True, min_wait=min_wait)
        parsed = parse_feed(self.name, response.body, response.headers.get("content-type", ""))
        entries, newest = [], _float(state.cursor) or 0.0
        for raw in sorted(parsed, key=lambda e: e.published_at or datetime.min.replace(tzinfo=UTC)):
            entry = rss_entry(raw)
            if entry is None:
                log.debug("reddit %s: an rss entry without a reddit id (%s)", self.name, raw.url)
                continue
            if entry.published_at is not None:
                newest = max(newest, entry.published_at.timestamp())
            if self._seen.add(entry.external_id):
                entries.append(entry)
        # Reddit's feed says Cache-Control: max-age=3600; it is not honoured (FeedSource
        # would), or a brand would be heard of once an hour.
        new_state = FeedState(response.etag, response.last_modified,
                              _cursor(newest) if newest else state.cursor)  # fmt: skip
        return FetchResult(entries, new_state, min_wait=min_wait)

    def _get_rss(self, etag: str, last_modified: str) -> Any:
        url = f"{self.site_url}/search.rss?{urlencode({'q': self.query, 'sort': 'new'})}"
        try:
            return retrying(self.name, self.attempts, self.sleep)(
                self.fetcher.get, url, etag=etag, last_modified=last_modified
            )
        except FetchError as exc:
            raise source_error(exc) from None


def _created(post: dict[str, Any]) -> float:
    value = post.get("data", {}).get("created_utc")
    return float(value) if isinstance(value, int | float) else 0.0


def _float(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _cursor(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def build(
    config: SourceConfig,
    settings: Any,
    fetcher: HttpFetcher,
    *,
    matches: Callable[[str], bool] | None = None,
) -> RedditSource:
    """`matches` is unused: the search is already narrowed to the brand's terms."""
    secret = getattr(settings, "reddit_client_secret", None)
    return RedditSource(
        config.name or "reddit",
        config.query,
        fetcher,
        client_id=getattr(settings, "reddit_client_id", ""),
        client_secret=secret.get_secret_value() if secret is not None else "",
        site_url=getattr(settings, "reddit_url", WEB),
        auth_url=getattr(settings, "reddit_auth_url", WEB),
        api_url=getattr(settings, "reddit_api_url", "https://oauth.reddit.com"),
        user_agent=getattr(settings, "user_agent", "mentionbot"),
        attempts=getattr(settings, "fetch_retries", 3),
    )

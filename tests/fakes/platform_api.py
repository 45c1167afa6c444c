"""The Hacker News search API (Algolia) and Reddit (OAuth token, OAuth search, public search.rss)
on 127.0.0.1, answering from recorded-format fixtures. Every request is recorded.

HN: GET /api/v1/search_by_date filters the hits of tests/fixtures/hackernews/search_by_date.json
by query (a substring, quotes dropped), tags (story, comment) and `created_at_i>=N`, newest
first, paged by page/hitsPerPage. `add_hit` posts a new one.

Reddit: POST /api/v1/access_token (HTTP basic auth, client_credentials) issues tokens;
GET /search needs a live bearer token (401 otherwise) and pages the posts of
tests/fixtures/reddit/search.json newest first with `after`; GET /api/info (token) and
/api/info.json (public) give the posts named by `id`; GET /search.rss serves
tests/fixtures/reddit/search.rss with an ETag (304 when it matches). `expire_tokens()`
makes every issued token stale, as Reddit's do after expires_in.

`fail(path, status, headers, body)` queues an answer served instead of the next one on that
path (a 429 with Retry-After, a 500, a 200 that is not JSON); `rate_headers` are sent with
every Reddit answer.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import LoopbackServer, QuietHandler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HN_FIXTURE = FIXTURES / "hackernews" / "search_by_date.json"
REDDIT_LISTING = FIXTURES / "reddit" / "search.json"
REDDIT_RSS = FIXTURES / "reddit" / "search.rss"
REDDIT_TOKEN = FIXTURES / "reddit" / "token.json"
CLIENT_ID, CLIENT_SECRET = "app-id-123", "app-secret-456"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class PlatformApi(LoopbackServer):
    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = json.loads(HN_FIXTURE.read_text())["hits"]
        self.posts: list[dict[str, Any]] = json.loads(REDDIT_LISTING.read_text())["data"][
            "children"
        ]
        self.rss = REDDIT_RSS.read_bytes()
        self.rss_etag = '"rss-1"'
        self.token_answer: dict[str, Any] = json.loads(REDDIT_TOKEN.read_text())
        self.rate_headers: dict[str, str] = {
            "x-ratelimit-used": "1", "x-ratelimit-remaining": "99.0", "x-ratelimit-reset": "540",
        }  # fmt: skip
        self.requests: list[Request] = []
        self.items: dict[str, dict[str, Any]] = {}  # Hacker News items by id (/items/<id>)
        self.tokens_issued = 0
        self._live_tokens: set[str] = set()
        self._failures: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        super().__init__()

    # ---- what tests change --------------------------------------------------------------

    def fail(self, path: str, status: int, headers: dict[str, str] | None = None,
             body: bytes = b"") -> None:  # fmt: skip
        with self._lock:
            self._failures.setdefault(path, []).append(Answer(status, headers or {}, body))

    def add_hit(self, hit: dict[str, Any]) -> None:
        with self._lock:
            self.hits.append(hit)

    def add_post(self, post: dict[str, Any]) -> None:
        with self._lock:
            self.posts.append(post)

    def expire_tokens(self) -> None:
        with self._lock:
            self._live_tokens.clear()

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # ---- the APIs -----------------------------------------------------------------------

    def _answer(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            queued = self._failures.get(request.path)
            if queued:
                return queued.pop(0)
        if request.path == "/api/v1/search_by_date":
            return self._hn_search(request.query)
        if request.path.startswith("/api/v1/items/"):
            with self._lock:
                item = self.items.get(request.path.removeprefix("/api/v1/items/"))
            if item is None:
                return Answer(404, {}, b'{"status": 404, "error": "Not Found"}')
            return Answer(200, {"Content-Type": "application/json; charset=utf-8"},
                          json.dumps(item).encode())  # fmt: skip
        if request.path == "/api/v1/access_token" and request.method == "POST":
            return self._token(request)
        if request.path == "/search":
            return self._reddit_search(request)
        if request.path in ("/api/info", "/api/info.json"):
            return self._reddit_info(request)
        if request.path == "/search.rss":
            if request.headers.get("if-none-match") == self.rss_etag:
                return Answer(304, {"ETag": self.rss_etag}, b"")
            headers = {"Content-Type": "application/atom+xml; charset=UTF-8", "ETag": self.rss_etag}
            return Answer(200, headers | self.rate_headers, self.rss)
        return Answer(404, {}, b'{"message": "Not Found", "error": 404}')

    def _hn_search(self, query: dict[str, str]) -> Answer:
        phrase = query.get("query", "").replace('"', "").lower()
        since = 0
        for part in query.get("numericFilters", "").split(","):
            if part.startswith("created_at_i>="):
                since = int(part.removeprefix("created_at_i>="))
        tags = query.get("tags", "").strip("()").split(",")
        with self._lock:
            found = [
                h for h in self.hits
                if h["created_at_i"] >= since
                and phrase in " ".join(str(h.get(k) or "") for k in
                                       ("title", "story_text", "comment_text")).lower()
                and any(t in h["_tags"] for t in tags)
            ]  # fmt: skip
        found.sort(key=lambda h: -h["created_at_i"])
        per_page = int(query.get("hitsPerPage", "20"))
        page = int(query.get("page", "0"))
        pages = -(-len(found) // per_page)
        document = {
            "exhaustive": {"nbHits": True, "typo": True},
            "hits": found[page * per_page : (page + 1) * per_page],
            "hitsPerPage": per_page, "nbHits": len(found), "nbPages": pages, "page": page,
            "params": "&".join(f"{k}={v}" for k, v in query.items()), "processingTimeMS": 1,
            "query": query.get("query", ""), "serverTimeMS": 2,
        }  # fmt: skip
        return Answer(200, {"Content-Type": "application/json; charset=utf-8"},
                      json.dumps(document).encode())  # fmt: skip

    def _token(self, request: Request) -> Answer:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        if request.headers.get("authorization") != f"Basic {expected}":
            return Answer(401, {"Content-Type": "application/json"},
                          b'{"message": "Unauthorized", "error": 401}')  # fmt: skip
        if form.get("grant_type") != "client_credentials":
            return Answer(200, {"Content-Type": "application/json"},
                          b'{"error": "unsupported_grant_type"}')  # fmt: skip
        with self._lock:
            self.tokens_issued += 1
            token = f"{self.token_answer['access_token']}-{self.tokens_issued}"
            self._live_tokens.add(token)
        answer = self.token_answer | {"access_token": token}
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def _refused_token(self, request: Request) -> Answer | None:
        """401 as Reddit's OAuth host answers a missing or stale bearer token; None if live."""
        token = request.headers.get("authorization", "").removeprefix("bearer ")
        with self._lock:
            if token in self._live_tokens:
                return None
        challenge = 'Bearer realm="reddit", error="invalid_token"'
        headers = {"Content-Type": "application/json", "www-authenticate": challenge}
        return Answer(401, headers, b'{"message": "Unauthorized", "error": 401}')

    def _reddit_info(self, request: Request) -> Answer:
        """/api/info (OAuth host, bearer token) and /api/info.json (public): the things named
        by `id` (comma-separated fullnames, at most 100), as a Listing, unknown ones left out."""
        if request.path == "/api/info" and (refused := self._refused_token(request)):
            return refused
        names = [n for n in request.query.get("id", "").split(",") if n]
        if len(names) > 100:
            return Answer(400, {"Content-Type": "application/json"},
                          b'{"message": "Bad Request", "error": 400}')  # fmt: skip
        with self._lock:
            by_name = {p["data"]["name"]: copy.deepcopy(p) for p in self.posts}
        children = [by_name[n] for n in names if n in by_name]
        data = {"after": None, "dist": len(children), "modhash": "", "geo_filter": "",
                "children": children, "before": None}  # fmt: skip
        listing = {"kind": "Listing", "data": data}
        headers = {"Content-Type": "application/json; charset=UTF-8"} | self.rate_headers
        return Answer(200, headers, json.dumps(listing).encode())

    def _reddit_search(self, request: Request) -> Answer:
        if refused := self._refused_token(request):
            return refused
        with self._lock:
            posts = copy.deepcopy(self.posts)
        words = request.query.get("q", "").replace('"', "").lower()

        def matches(post: dict[str, Any]) -> bool:
            text = (post["data"]["title"] + " " + post["data"]["selftext"]).lower()
            return any(word in text for word in words.split(" or "))

        found = [p for p in posts if matches(p)]
        found.sort(key=lambda p: -p["data"]["created_utc"])
        after = request.query.get("after", "")
        if after:
            names = [p["data"]["name"] for p in found]
            found = found[names.index(after) + 1 :] if after in names else []
        limit = int(request.query.get("limit", "25"))
        page, rest = found[:limit], found[limit:]
        listing = {"kind": "Listing", "data": {
            "after": page[-1]["data"]["name"] if rest else None, "dist": len(page),
            "modhash": "", "geo_filter": "", "children": page, "before": None}}  # fmt: skip
        headers = {"Content-Type": "application/json; charset=UTF-8"} | self.rate_headers
        return Answer(200, headers, json.dumps(listing).encode())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(QuietHandler):
            # Headers and body go out in two writes: without this, Nagle and the client's
            # delayed ACK add ~40 ms to every answer that has a body.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self._serve("GET", "")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve("POST", self.rfile.read(length).decode())

            def _serve(self, method: str, body: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = api._answer(Request(method, parts.path, query, headers, body))
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        return Handler

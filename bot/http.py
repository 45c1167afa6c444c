"""The one HTTP seam for sources: timeouts, a total deadline, a size cap that holds after
decompression, redirects re-checked hop by hop, conditional GET, and the SSRF guard
(bot/url_guard.py) on every hop's URL and inside every connection (bot/guarded_net.py).

Everything a source fetches goes through `HttpFetcher.get`, so no feed can make the bot read
an internal address, hang it, or fill its memory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from bot import __version__
from bot.failures import FetchError
from bot.guarded_net import guarded_transport
from bot.url_guard import Resolver, UrlGuard, system_resolver

if TYPE_CHECKING:
    from bot.http_async import AsyncFetcher

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})  # not 304: that is "not modified"


class Headers(Protocol):
    """Response headers, case-insensitive: httpx.Headers and aiohttp's both fit."""

    def get(self, key: str, default: str = ...) -> str: ...

    def items(self) -> Iterable[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class FetchResponse:
    status: int  # 200, or 304 (not modified: body empty)
    body: bytes
    etag: str = ""
    last_modified: str = ""
    final_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def redact(url: str) -> str:
    """A URL fit for a log: no query (Google Alerts feeds carry a user token there), no
    credentials, path trimmed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    path = parts.path if len(parts.path) <= 60 else parts.path[:57] + "..."
    return f"{parts.scheme}://{host}{port}{path}" + ("?…" if parts.query else "")


class HttpFetcher:
    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 10_000_000,
        max_redirects: int = 5,
        user_agent: str = f"mentionbot/{__version__}",
        allow_private_hosts: Iterable[str] = (),
        resolver: Resolver = system_resolver,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        per_host: int = 6,
        async_backend: str = "",
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.guard = UrlGuard(allow_private_hosts, resolver)
        self.clock = clock
        self.user_agent = user_agent
        self.per_host = max(1, per_host)  # requests in flight to one host (async path)
        # "aiohttp" (about 3x less CPU per poll) or "httpx" (HTTP/2); "": aiohttp if installed
        self.async_backend = async_backend or default_async_backend()
        # Every connection, on every hop, goes through the guard (bot/guarded_net.py).
        self.client = httpx.Client(
            transport=transport or guarded_transport(self.guard), **self.client_options()
        )
        self._async: dict[object, object] = {}  # event loop → AsyncFetcher (bot/http_async.py)

    def client_options(self) -> dict[str, Any]:
        """What the sync and the async client share: limits, headers, no redirects, no proxy."""
        return {
            # Per-operation limits; the whole fetch is bounded by `timeout` as well, so a
            # server that drips one byte a second cannot hold us forever.
            "timeout": httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            "follow_redirects": False,  # each hop goes through the guard
            "headers": {
                "User-Agent": self.user_agent,
                "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
                "application/json;q=0.8, */*;q=0.5",
                "Accept-Encoding": "gzip, deflate",
            },
            "trust_env": False,  # no proxy from the environment could route around the guard
        }

    @classmethod
    def from_settings(cls, settings: object, **extra: object) -> HttpFetcher:
        return cls(
            timeout=settings.fetch_timeout,  # type: ignore[attr-defined]
            max_bytes=settings.max_feed_bytes,  # type: ignore[attr-defined]
            max_redirects=settings.max_redirects,  # type: ignore[attr-defined]
            user_agent=settings.user_agent,  # type: ignore[attr-defined]
            allow_private_hosts=settings.allow_private_hosts,  # type: ignore[attr-defined]
            per_host=getattr(settings, "fetch_per_host", 6),
            async_backend=getattr(settings, "http_async_backend", ""),
            **extra,  # type: ignore[arg-type]
        )

    def close(self) -> None:
        self.client.close()
        for loop, fetcher in list(self._async.items()):
            close_async(loop, fetcher)
        self._async.clear()

    def async_fetcher(self) -> AsyncFetcher:
        """The async twin of this fetcher for the running event loop (same guard, caps,
        deadline and headers; per-host concurrency bounded by `per_host`)."""
        from bot.http_async import AsyncFetcher

        loop = asyncio.get_running_loop()
        fetcher = self._async.get(loop)
        if fetcher is None:
            for old in [k for k in self._async if k.is_closed()]:  # type: ignore[attr-defined]
                del self._async[old]
            fetcher = self._async[loop] = AsyncFetcher(self, backend=self.async_backend)
        return fetcher  # type: ignore[return-value]

    def get(self, url: str, *, etag: str = "", last_modified: str = "") -> FetchResponse:
        deadline = self.clock() + self.timeout
        headers = conditional_headers(etag, last_modified)
        current = url
        for _hop in range(self.max_redirects + 1):
            self.guard.check(current, resolve=False)  # names: checked as they are connected to
            try:
                with self.client.stream("GET", current, headers=headers) as response:
                    target = redirect_target(response, current)
                    if target:
                        if reusable(response.headers):
                            response.read()
                        current = target
                        continue
                    return self._finish(response, current, deadline)
            except httpx.TimeoutException:
                raise FetchError(f"timed out fetching {redact(current)}") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL: a bad Location
                raise FetchError(f"cannot fetch {redact(current)}: {type(exc).__name__}") from None
        raise too_many_redirects(url, self.max_redirects)

    def _finish(self, response: httpx.Response, url: str, deadline: float) -> FetchResponse:
        early = classify(response.status_code, response.headers, url, self.max_bytes)
        if early is not None:
            if reusable(response.headers):
                response.read()
            return early
        body = BodyReader(response.headers, url, self.max_bytes)
        for raw in response.iter_raw():  # as it arrives: the deadline is checked per piece
            if self.clock() > deadline:
                raise FetchError(f"{redact(url)} took longer than {self.timeout:.0f} s")
            body.feed(raw)
        return ok_response(response.headers, url, body.bytes())


# --- shared by the sync fetcher above and the async one (bot/http_async.py) ---------------
def conditional_headers(etag: str, last_modified: str) -> dict[str, str]:
    """The validators of the last answer, sent back on every poll (conditional GET)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def redirect_target(response: httpx.Response, url: str) -> str:
    """`redirect_location` of an httpx response."""
    return redirect_location(response.status_code, response.headers, url)


def redirect_location(status: int, headers: Headers, url: str) -> str:
    """Where a redirect points (to be guarded again), or "" when it is not a redirect."""
    if status not in REDIRECT_STATUSES:
        return ""
    location = headers.get("location", "")
    if not location:
        raise FetchError(f"redirect without Location from {redact(url)}")
    return urljoin(url, location)


def reusable(headers: Headers) -> bool:
    """Whether to read a body we do not need (a 304's, a redirect's) to the end: httpcore
    keeps a connection for the next request only once the answer is read through, and a
    new connection per poll costs more than the poll. Only short declared bodies."""
    declared = headers.get("content-length", "")
    return declared.isdigit() and int(declared) <= 65_536


def too_many_redirects(url: str, limit: int) -> FetchError:
    return FetchError(f"more than {limit} redirects from {redact(url)}", permanent=True)


def _meta(headers: Headers, url: str) -> dict[str, object]:
    return {
        "etag": headers.get("etag", ""),
        "last_modified": headers.get("last-modified", ""),
        "final_url": url,
        "headers": {k.lower(): v for k, v in headers.items()},
    }


def classify(status: int, headers: Headers, url: str, max_bytes: int) -> FetchResponse | None:
    """The answer when the status settles it (304), an error when it is one (429/5xx with
    Retry-After, 4xx permanent, a declared size over the cap); None: read the 200 body."""
    if status == 304:
        return FetchResponse(304, b"", **_meta(headers, url))  # type: ignore[arg-type]
    if status in (429, 503) or status >= 500 or status == 408:
        raise FetchError(
            f"HTTP {status} from {redact(url)}",
            retry_after=parse_retry_after(headers.get("retry-after", "")),
        )
    if status >= 400:
        raise FetchError(f"HTTP {status} from {redact(url)}", permanent=True)
    if status != 200:
        raise FetchError(f"unexpected HTTP {status} from {redact(url)}")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"{redact(url)} is {int(declared):,} bytes, over the {max_bytes:,} cap",
            permanent=True,
        )
    return None


def ok_response(headers: Headers, url: str, body: bytes) -> FetchResponse:
    return FetchResponse(200, body, **_meta(headers, url))  # type: ignore[arg-type]


class BodyReader:
    """Collects a body piece by piece, inflating gzip/deflate itself, and stops at the cap
    (after decompression), so a gzip bomb stops there instead of expanding first."""

    def __init__(self, headers: Headers, url: str, limit: int) -> None:
        self.url = url
        self.limit = limit
        self.encoding = headers.get("content-encoding", "").lower().strip()
        self._out = bytearray()
        self._inflater = None
        if self.encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._inflater = zlib.decompressobj()
        elif self.encoding not in ("", "identity"):
            raise FetchError(f"unsupported Content-Encoding {self.encoding!r} from {redact(url)}")

    def feed(self, raw: bytes) -> None:
        out, limit = self._out, self.limit
        if self._inflater is None:
            out += raw
        else:
            # Inflate at most what still fits, so a 64 kB chunk never becomes gigabytes.
            data = raw
            while data:
                room = limit - len(out) + 1
                try:
                    out += self._inflater.decompress(data, room)
                except zlib.error as exc:
                    raise FetchError(
                        f"corrupt {self.encoding} body from {redact(self.url)}: {exc}"
                    ) from None
                data = self._inflater.unconsumed_tail
                if len(out) > limit:
                    break
        if len(out) > limit:
            raise FetchError(
                f"{redact(self.url)} is over the {limit:,} byte cap (after decompression)",
                permanent=True,
            )

    def bytes(self) -> bytes:
        return bytes(self._out)


def default_async_backend() -> str:
    return "aiohttp" if importlib.util.find_spec("aiohttp") is not None else "httpx"


def close_async(loop: object, fetcher: object) -> None:
    """Close an async fetcher from outside its loop, when that loop is idle."""
    if loop.is_closed() or loop.is_running():  # type: ignore[attr-defined]
        return  # its sockets go with the loop
    loop.run_until_complete(fetcher.aclose())  # type: ignore[attr-defined]


def parse_retry_after(value: str) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

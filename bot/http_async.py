"""The async twin of the HTTP seam, for polling many feeds from one event loop.

Same rules as `HttpFetcher.get`, from the same code (bot/http.py, bot/url_guard.py,
bot/guarded_net.py): the URL guard before every hop and inside every connection, before the
request is written, redirects followed by hand,
the size cap after decompression, conditional GET, Retry-After on 429/503. Added here: at most
`per_host` requests in flight to one host, so a thousand Google Alerts feeds never become a
thousand simultaneous requests to Google, and one deadline over the whole fetch.

Two clients behind it, chosen by `HttpFetcher(async_backend=...)`:
- "httpx": httpx.AsyncClient, HTTP/2 where the server offers it (ALPN on https, with h2).
- "aiohttp": HTTP/1.1 keep-alive only, but its C parser makes a conditional GET cost about a
  third of httpx's CPU (bench/poll.py measures both).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.guarded_net import GuardedResolver, guarded_async_transport, guarded_socket_factory
from bot.http import (
    BodyReader,
    FetchError,
    FetchResponse,
    HttpFetcher,
    classify,
    conditional_headers,
    ok_response,
    redact,
    redirect_location,
    reusable,
    too_many_redirects,
)
from bot.url_guard import UrlGuard

try:  # HTTP/2 needs the h2 package (httpx[http2]); without it, HTTP/1.1 keep-alive
    import h2  # noqa: F401

    HTTP2 = True
except ImportError:  # pragma: no cover - depends on the environment
    HTTP2 = False

BACKENDS = ("httpx", "aiohttp")


class AsyncFetcher:
    """Built by `HttpFetcher.async_fetcher()`: one per event loop, sharing its settings."""

    def __init__(
        self,
        sync: HttpFetcher,
        *,
        backend: str = "httpx",
        per_host: int | None = None,
        max_connections: int = 256,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown async HTTP backend {backend!r}; one of {BACKENDS}")
        self.backend = backend
        self.guard = sync.guard
        self.timeout = sync.timeout
        self.max_bytes = sync.max_bytes
        self.max_redirects = sync.max_redirects
        self.per_host = max(1, per_host or sync.per_host)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        options = sync.client_options()
        if backend == "httpx":
            limits = httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            )
            self._client: Any = httpx.AsyncClient(
                transport=guarded_async_transport(self.guard, http2=HTTP2, limits=limits),
                **options,
            )
            self._hop: Callable[..., Any] = self._hop_httpx
        else:
            self._client = _aiohttp_session(options, max_connections, self.per_host, self.guard)
            self._hop = self._hop_aiohttp

    async def aclose(self) -> None:
        if self.backend == "httpx":
            await self._client.aclose()
        else:
            await self._client.close()

    async def get(self, url: str, *, etag: str = "", last_modified: str = "") -> FetchResponse:
        headers = conditional_headers(etag, last_modified)
        current = url
        try:
            # One deadline for the whole fetch, redirects and a dripping body included.
            async with asyncio.timeout(self.timeout):
                for _hop in range(self.max_redirects + 1):
                    # The URL as this client reads it; every connection is checked as it is
                    # made (bot/guarded_net.py), before the request is written.
                    self.guard.check(current, client=self.backend, resolve=False)
                    parts = urlsplit(current)
                    async with self._host_slot(f"{parts.hostname}:{parts.port or ''}"):
                        answer = await self._hop(current, headers)
                    if isinstance(answer, FetchResponse):
                        return answer
                    current = answer
        except TimeoutError:
            raise FetchError(f"timed out fetching {redact(current)}") from None
        raise too_many_redirects(url, self.max_redirects)

    async def _hop_httpx(self, url: str, headers: dict[str, str]) -> FetchResponse | str:
        """One request: the answer, or where it redirects to."""
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                status, got = response.status_code, response.headers
                target = redirect_location(status, got, url)
                early = None if target else classify(status, got, url, self.max_bytes)
                if target or early is not None:
                    if reusable(got):
                        await response.aread()  # keep the connection for the next poll
                    return target or early  # type: ignore[return-value]
                body = BodyReader(got, url, self.max_bytes)
                async for raw in response.aiter_raw():
                    body.feed(raw)
                return ok_response(got, url, body.bytes())
        except httpx.TimeoutException:
            raise FetchError(f"timed out fetching {redact(url)}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL: a bad Location
            raise FetchError(f"cannot fetch {redact(url)}: {type(exc).__name__}") from None

    async def _hop_aiohttp(self, url: str, headers: dict[str, str]) -> FetchResponse | str:
        import aiohttp

        try:
            async with self._client.get(url, headers=headers, allow_redirects=False) as response:
                status, got = response.status, response.headers
                target = redirect_location(status, got, url)
                early = None if target else classify(status, got, url, self.max_bytes)
                if target or early is not None:
                    if reusable(got):
                        await response.read()  # keep the connection for the next poll
                    found = target or early
                    assert found is not None  # one of the two, by the test above
                    return found
                body = BodyReader(got, url, self.max_bytes)
                async for raw in response.content.iter_any():  # raw: we inflate, capped
                    body.feed(raw)
                return ok_response(got, url, body.bytes())
        except (aiohttp.ServerTimeoutError, aiohttp.SocketTimeoutError):
            raise FetchError(f"timed out fetching {redact(url)}") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"cannot fetch {redact(url)}: {type(exc).__name__}") from None

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        """One of the `per_host` request slots of a host ("name:port")."""
        semaphore = self._hosts.get(host)
        if semaphore is None:
            semaphore = self._hosts[host] = asyncio.Semaphore(self.per_host)
        return semaphore


def _aiohttp_session(
    options: dict[str, Any], max_connections: int, per_host: int, guard: UrlGuard
) -> Any:
    import aiohttp

    timeout: httpx.Timeout = options["timeout"]
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_connections,
            limit_per_host=per_host,
            resolver=GuardedResolver(guard),  # names: every answer checked
            socket_factory=guarded_socket_factory(guard),  # every address, before connecting
        ),
        headers=options["headers"],
        # Per-operation limits like httpx's; the whole fetch has its own deadline above.
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=timeout.connect, sock_read=timeout.read
        ),
        auto_decompress=False,  # BodyReader inflates, stopping at the cap
        trust_env=False,  # no proxy from the environment could route around the guard
        cookie_jar=aiohttp.DummyCookieJar(),
    )

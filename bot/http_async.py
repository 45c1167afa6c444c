"""The async twin of the HTTP seam, for polling many feeds from one event loop.

Same rules as `HttpFetcher.get`, from the same code (bot/http.py): the URL guard before every
hop and on the address actually connected to, redirects followed by hand, the size cap after
decompression, conditional GET, Retry-After on 429/503. Added here: HTTP/2 where the server
offers it (ALPN on https), and at most `per_host` requests in flight to one host, so a
thousand Google Alerts feeds never become a thousand simultaneous requests to Google.
"""

from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit

import httpx

from bot.http import (
    BodyReader,
    FetchError,
    FetchResponse,
    HttpFetcher,
    check_peer,
    classify,
    conditional_headers,
    ok_response,
    redact,
    redirect_target,
    too_many_redirects,
)

try:  # HTTP/2 needs the h2 package (httpx[http2]); without it, HTTP/1.1 keep-alive
    import h2  # noqa: F401

    HTTP2 = True
except ImportError:  # pragma: no cover - depends on the environment
    HTTP2 = False


class AsyncFetcher:
    """Built by `HttpFetcher.async_fetcher()`: one per event loop, sharing its settings."""

    def __init__(
        self,
        sync: HttpFetcher,
        *,
        per_host: int | None = None,
        max_connections: int = 256,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.guard = sync.guard
        self.timeout = sync.timeout
        self.max_bytes = sync.max_bytes
        self.max_redirects = sync.max_redirects
        self.per_host = max(1, per_host or sync.per_host)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.in_flight: dict[str, int] = {}  # per host, now
        self.client = httpx.AsyncClient(
            http2=HTTP2,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            **sync.client_options(),  # type: ignore[arg-type]
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get(self, url: str, *, etag: str = "", last_modified: str = "") -> FetchResponse:
        headers = conditional_headers(etag, last_modified)
        current = url
        try:
            # One deadline for the whole fetch, redirects and a dripping body included.
            async with asyncio.timeout(self.timeout):
                for _hop in range(self.max_redirects + 1):
                    await self._check(current)
                    async with self._host_slot(current):
                        answer = await self._hop(current, headers)
                    if isinstance(answer, FetchResponse):
                        return answer
                    current = answer
        except TimeoutError:
            raise FetchError(f"timed out fetching {redact(current)}") from None
        raise too_many_redirects(url, self.max_redirects)

    async def _hop(self, url: str, headers: dict[str, str]) -> FetchResponse | str:
        """One request: the answer, or where it redirects to."""
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                check_peer(self.guard, response, url)
                target = redirect_target(response, url)
                if target:
                    return target
                early = classify(response, url, self.max_bytes)
                if early is not None:
                    return early
                body = BodyReader(response.headers, url, self.max_bytes)
                async for raw in response.aiter_raw():
                    body.feed(raw)
                return ok_response(response, url, body.bytes())
        except httpx.TimeoutException:
            raise FetchError(f"timed out fetching {redact(url)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {redact(url)}: {type(exc).__name__}") from None

    async def _check(self, url: str) -> None:
        """The guard, off the loop when it has to ask DNS (a literal address or an allowed
        host needs no lookup, and that is every loopback test and most of a benchmark)."""
        host = (urlsplit(url).hostname or "").lower()
        if host in self.guard.allowed_hosts or _is_literal(host):
            self.guard.check(url)
        else:
            await asyncio.to_thread(self.guard.check, url)

    def _host_slot(self, url: str) -> _HostSlot:
        parts = urlsplit(url)
        host = f"{parts.hostname}:{parts.port or ''}"
        semaphore = self._hosts.get(host)
        if semaphore is None:
            semaphore = self._hosts[host] = asyncio.Semaphore(self.per_host)
        return _HostSlot(self, host, semaphore)


class _HostSlot:
    """Holds one of a host's `per_host` slots for the length of a request."""

    __slots__ = ("fetcher", "host", "semaphore")

    def __init__(self, fetcher: AsyncFetcher, host: str, semaphore: asyncio.Semaphore) -> None:
        self.fetcher, self.host, self.semaphore = fetcher, host, semaphore

    async def __aenter__(self) -> None:
        await self.semaphore.acquire()
        counts = self.fetcher.in_flight
        counts[self.host] = counts.get(self.host, 0) + 1

    async def __aexit__(self, *_: object) -> None:
        self.fetcher.in_flight[self.host] -= 1
        self.semaphore.release()


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

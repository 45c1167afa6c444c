"""The URL guard inside every client's connect: httpx (sync and async, through httpcore's
network backend), aiohttp (its resolver and its socket factory) and the WebSocket client (a
socket we connect ourselves). Each resolves the host once through `UrlGuard.connectable`,
connects only to the addresses that passed, and checks the connected peer before returning
the connection, so no byte of any request, on any redirect hop, is ever written to an
address the guard refuses, whatever the URL's spelling or the DNS answers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.failures import FetchError
from bot.url_guard import UrlGuard


def guarded_transport(guard: UrlGuard, **options: Any) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through the guard."""
    transport = httpx.HTTPTransport(trust_env=False, **options)
    _swap_backend(transport._pool, GuardedBackend(guard, transport._pool._network_backend))
    return transport


def guarded_async_transport(guard: UrlGuard, **options: Any) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(trust_env=False, **options)
    backend = AsyncGuardedBackend(guard, transport._pool._network_backend)
    _swap_backend(transport._pool, backend)
    return transport


def _swap_backend(pool: object, backend: object) -> None:
    # httpcore's pools take a network_backend, but httpx does not pass one through: the
    # pool's attribute is set before any connection exists. Checked, so that an httpcore
    # that renames it fails here and not silently unguarded.
    if not hasattr(pool, "_network_backend"):  # pragma: no cover - a changed httpcore
        raise RuntimeError("httpcore's pool has no _network_backend: the guard cannot hook in")
    pool._network_backend = backend


class GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: UrlGuard, inner: httpcore.NetworkBackend) -> None:
        self.guard, self.inner = guard, inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.guard.connectable(host, port):
            try:
                stream = self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # the next address, as a resolver would
                failure = exc
                continue
            try:
                self.guard.check_peer(stream.get_extra_info("server_addr"), host)
            except BaseException:
                stream.close()
                raise
            return stream
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise FetchError("refused: a Unix socket", permanent=True)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: UrlGuard, inner: httpcore.AsyncNetworkBackend) -> None:
        self.guard, self.inner = guard, inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # The lookup blocks: off the event loop (anyio: whichever loop httpcore runs on).
        addresses = await anyio.to_thread.run_sync(self.guard.connectable, host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            try:
                self.guard.check_peer(stream.get_extra_info("server_addr"), host)
            except BaseException:
                await stream.aclose()
                raise
            return stream
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("refused: a Unix socket", permanent=True)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


# --- aiohttp ------------------------------------------------------------------------------------
class GuardedResolver(AbstractResolver):
    """aiohttp's DNS lookup for host names (it skips it for what it reads as an address):
    the guard's, so every answer is checked before aiohttp may connect to it."""

    def __init__(self, guard: UrlGuard) -> None:
        self.guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        addresses = await loop.run_in_executor(None, self.guard.connectable, host, port)
        return [
            ResolveResult(hostname=host, host=str(address), port=port,
                          family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                          proto=socket.IPPROTO_TCP, flags=socket.AI_NUMERICHOST)
            for address in addresses
        ]  # fmt: skip

    async def close(self) -> None:
        pass


def guarded_socket_factory(guard: UrlGuard) -> Any:
    """aiohttp's socket factory: told the address it is about to connect to (a name's
    checked answer, or a numeric host aiohttp never resolved), it refuses before connecting."""

    def make(addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, address = addr_info
        guard.check_socket_address(str(address[0]))
        return socket.socket(family=family, type=kind, proto=proto)

    return make


# --- a socket of our own (the WebSocket client) -------------------------------------------------
def guarded_connection(guard: UrlGuard, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to one of `host`'s checked addresses, its peer checked again."""
    failure: OSError | None = None
    for address in guard.connectable(host, port):
        try:
            sock = socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            failure = exc
            continue
        try:
            guard.check_peer(sock.getpeername(), host)
        except BaseException:
            sock.close()
            raise
        return sock
    raise failure or OSError(f"no address to connect to for {host}")

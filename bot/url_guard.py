"""The SSRF guard: which URLs and addresses the bot may fetch, and whether the peer it
actually connected to is one of them.

A URL passes when its scheme is http(s) and its host, or every address DNS gives for it, is
public, unless ALLOW_PRIVATE_HOSTS allows it. The HTTP seam (bot/http.py, bot/http_async.py)
and the sources that open their own connections run every hop through `UrlGuard.check`, and
the connected address through `check_peer` / `check_peer_of`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.failures import FetchError

if TYPE_CHECKING:
    import httpx

# Addresses no feed may point at unless allowed: cloud metadata services first.
METADATA_HOSTS = {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "metadata.google.internal"}

Resolver = Callable[[str, int], Iterable[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class UrlGuard:
    """Refuses URLs that point (directly, or through their DNS answers) at loopback,
    private, link-local, multicast, reserved or metadata addresses, unless allowed."""

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
        self.allowed_hosts: set[str] = set()
        self.allowed_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            entry = entry.strip().lower()
            try:
                self.allowed_networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.allowed_hosts.add(entry)
        self.resolver = resolver

    def check(self, url: str, *, resolve: bool = True) -> None:
        """Raise FetchError if `url` may not be fetched. `resolve=False` skips the DNS
        lookup of a host name, for a client whose resolver checks every answer itself."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError(f"invalid URL: {exc}", permanent=True) from None
        if parts.scheme not in ("http", "https"):
            raise FetchError(
                f"refused scheme {parts.scheme!r}: only http and https", permanent=True
            )
        if not host:
            raise FetchError("URL has no host", permanent=True)
        if host in self.allowed_hosts:
            return
        if host in METADATA_HOSTS:
            raise FetchError(f"refused {host}: a cloud metadata address", permanent=True)
        if not resolve and not is_literal_address(host):
            return
        for address in self._addresses(host, port):
            self.check_address(address, host)

    def check_address(
        self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str
    ) -> None:
        if any(address in network for network in self.allowed_networks):
            return
        if _internal(address):
            raise FetchError(
                f"refused {host}: it resolves to {address}, an internal address "
                "(add it to ALLOW_PRIVATE_HOSTS for a self-hosted feed)",
                permanent=True,
            )

    def _addresses(
        self, host: str, port: int
    ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        """The host itself when it is an IP, else every address DNS gives for it: one
        internal answer among public ones is enough to refuse."""
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            answers = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host, port)]
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        if not answers:
            raise FetchError(f"{host} has no address")
        return answers


def handshake_url(url: str) -> str:
    """A WebSocket URL as the http(s) URL of its handshake (what the guard and httpx speak);
    any other URL unchanged."""
    scheme, sep, rest = url.partition(":")
    return {"ws": "http", "wss": "https"}.get(scheme, scheme) + sep + rest


def is_literal_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        str(address) in METADATA_HOSTS
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_peer(guard: UrlGuard, response: httpx.Response, url: str) -> None:
    """`check_peer_of` for an httpx response (sync or async)."""
    check_peer_of(guard, url, httpx_peer(response))


def check_peer_of(guard: UrlGuard, url: str, peer_of: Callable[[], object]) -> None:
    """The address we actually connected to (`peer_of()`: (address, port, ...) or None)
    must pass the guard too: DNS may answer differently between our check and the HTTP
    client's own lookup (DNS rebinding)."""
    host = urlsplit(url).hostname or ""
    if host.lower() in guard.allowed_hosts:
        return
    peer = peer_of()
    if not peer:
        return
    guard.check_address(ipaddress.ip_address(str(peer[0]).split("%")[0]), host)  # type: ignore[index]


def httpx_peer(response: httpx.Response) -> Callable[[], object]:
    def peer() -> object:
        stream = response.extensions.get("network_stream")
        return stream.get_extra_info("server_addr") if stream is not None else None

    return peer

"""The SSRF guard: which URLs and addresses the bot may fetch.

A URL passes when its scheme is http(s) (ws(s) for a WebSocket) and every address its host
stands for is public, unless ALLOW_PRIVATE_HOSTS allows it. Two checks, one rule:
- `UrlGuard.check(url, client=...)`, on every hop before a request: the host is read by the
  parser of the client that will connect (httpx, yarl for aiohttp, websockets), so IDNA and
  UTS-46 mappings (fullwidth or circled digits, ideographic full stops) give the host that
  client will really use; a numeric host is read as the C library reads it (127.1, 0x7f.1,
  2130706433, 0177.0.0.1, ::ffff:127.0.0.1 all are 127.0.0.1).
- `UrlGuard.connectable(host, port)`, at connection time, inside each client
  (bot/guarded_net.py): the addresses the host resolves to are checked and the client
  connects to those checked addresses only, and the connected peer is checked again, before
  any byte of the request is written. No spelling, redirect or DNS answer changes that.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from bot.failures import FetchError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Addresses no feed may point at unless allowed: cloud metadata services first.
METADATA_HOSTS = {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "metadata.google.internal"}
SCHEMES = {"httpx": ("http", "https"), "aiohttp": ("http", "https"), "websockets": ("ws", "wss")}
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
APPROVED_LIMIT = 4096  # addresses of allowed host names remembered for aiohttp's sockets

Resolver = Callable[[str, int], Iterable[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class UrlGuard:
    """Refuses URLs and connections that point (directly, or through their DNS answers) at
    loopback, private, link-local, multicast, reserved or metadata addresses, unless
    allowed."""

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
        self.allowed_hosts: set[str] = set()
        self.allowed_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            entry = entry.strip().lower()
            try:
                self.allowed_networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.allowed_hosts.add(host_name(entry))
        self.resolver = resolver
        # Addresses an allowed host name resolved to: a client that connects to an address
        # without saying for which host (aiohttp's socket factory) may connect to these.
        self._approved: dict[str, None] = {}
        self._lock = threading.Lock()

    # --- before a request: the URL ------------------------------------------------------------
    def check(self, url: str, *, client: str = "httpx", resolve: bool = True) -> None:
        """Raise FetchError if `url` may not be fetched with `client`. The host is the one
        that client will connect to; a numeric one is checked here, a name's DNS answers
        unless `resolve` is off (for a client whose connections are guarded: `connectable`
        checks the answers it connects to)."""
        scheme, host, port = client_target(url, client)
        if scheme not in SCHEMES[client]:
            allowed = " and ".join(SCHEMES[client])
            raise FetchError(f"refused scheme {scheme!r}: only {allowed}", permanent=True)
        if not host:
            raise FetchError("URL has no host", permanent=True)
        if self.allows_host(host):
            return
        if host_name(host) in METADATA_HOSTS:
            raise FetchError(f"refused {host}: a cloud metadata address", permanent=True)
        numeric = numeric_addresses(host, port)
        for address in numeric or (self.resolve(host, port) if resolve else []):
            self.check_address(address, host)

    # --- at connection time: the addresses ---------------------------------------------------
    def connectable(self, host: str, port: int) -> list[Address]:
        """The addresses a client may connect to for `host`: every one it stands for, each
        checked (one internal answer among public ones refuses them all). A client then
        connects to these, never resolving the name again itself."""
        if host_name(host) in METADATA_HOSTS and not self.allows_host(host):
            raise FetchError(f"refused {host}: a cloud metadata address", permanent=True)
        addresses = numeric_addresses(host, port) or self.resolve(host, port)
        if self.allows_host(host):
            with self._lock:
                for address in addresses:
                    self._approved[str(address)] = None
                while len(self._approved) > APPROVED_LIMIT:
                    del self._approved[next(iter(self._approved))]
            return addresses
        for address in addresses:
            self.check_address(address, host)
        return addresses

    def check_peer(self, peer: object, host: str) -> None:
        """The address a socket is connected to ((address, port, ...)) must pass too."""
        if self.allows_host(host):
            return
        if not isinstance(peer, tuple) or not peer:
            raise FetchError(f"refused {host}: the connected address is unknown", permanent=True)
        self.check_address(ipaddress.ip_address(str(peer[0]).split("%")[0]), host)

    def check_socket_address(self, address: str) -> None:
        """For a client that only says which address it connects to (aiohttp's socket
        factory): public, allowed, or an address an allowed host name resolved to."""
        with self._lock:
            if address.split("%")[0] in self._approved:
                return
        self.check_address(ipaddress.ip_address(address.split("%")[0]), address)

    # --- the rule ----------------------------------------------------------------------------
    def allows_host(self, host: str) -> bool:
        return host_name(host) in self.allowed_hosts

    def check_address(self, address: Address, host: str) -> None:
        if any(address in network for network in self.allowed_networks):
            return
        if _internal(address):
            raise FetchError(
                f"refused {host}: it resolves to {address}, an internal address "
                "(add it to ALLOW_PRIVATE_HOSTS for a self-hosted feed)",
                permanent=True,
            )

    def resolve(self, host: str, port: int) -> list[Address]:
        try:
            answers = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host, port)]
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host}: {exc}") from None
        if not answers:
            raise FetchError(f"{host} has no address")
        return answers


@functools.lru_cache(maxsize=16384)  # a feed's URL is checked on every poll
def client_target(url: str, client: str) -> tuple[str, str, int]:
    """(scheme, host, port) as `client` reads the URL: its own parser, its own IDNA."""
    try:
        if client == "httpx":
            import httpx

            parsed = httpx.URL(url)
            host = parsed.raw_host.decode("ascii")
            scheme, port = parsed.scheme, parsed.port
        elif client == "aiohttp":
            import yarl

            parsed_yarl = yarl.URL(url)
            scheme, host = parsed_yarl.scheme, parsed_yarl.raw_host or ""
            port = parsed_yarl.explicit_port
        else:
            from websockets.uri import parse_uri

            scheme = urlsplit(url).scheme.lower()
            if scheme not in ("ws", "wss"):
                return scheme, urlsplit(url).hostname or "", 0
            ws = parse_uri(url)
            host, port = ws.host, ws.port
    except Exception as exc:  # each parser raises its own kind; all mean "not a URL to fetch"
        why = f"invalid URL: {type(exc).__name__}: {exc}"[:300]
        raise FetchError(why, permanent=True) from None
    return scheme, host.strip("[]").lower(), port or DEFAULT_PORTS.get(scheme, 0)


def host_name(host: str) -> str:
    """A host as names are compared: lower case, without the root's trailing dot."""
    host = host.strip().lower()
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def numeric_addresses(host: str, port: int) -> list[Address]:
    return list(_numeric(host))


@functools.lru_cache(maxsize=16384)
def _numeric(host: str) -> tuple[Address, ...]:
    """The address a numeric host stands for, as the C library reads it (getaddrinfo with
    AI_NUMERICHOST: dotted, shortened, octal, hex and integer IPv4, any IPv6), or [] for a
    name. No DNS is asked."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return ()
    return tuple(dict.fromkeys(ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos))


def is_literal_address(host: str) -> bool:
    return bool(numeric_addresses(host, 0))


def handshake_url(url: str) -> str:
    """A WebSocket URL as the http(s) URL of its handshake; any other URL unchanged."""
    scheme, sep, rest = url.partition(":")
    return {"ws": "http", "wss": "https"}.get(scheme, scheme) + sep + rest


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _internal(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one is judged by the IPv4 one: mapped
        # (::ffff:a.b.c.d), 6to4 (2002:ab:cd::) and NAT64's well-known prefix.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _internal(embedded)
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

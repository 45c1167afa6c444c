"""The SSRF table: every client the bot fetches with (httpx sync, httpx async, aiohttp, the
Jetstream WebSocket, the Mastodon client), each spelling of a loopback, private or metadata
address, and redirect chains to them from an allowed host. A listener on 127.0.0.1 and ::1
(the tripwire) must never see a connection, let alone a request; every case must end in a
clear FetchError, never in another exception.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from websockets.exceptions import InvalidHandshake

from bot.http import FetchError, HttpFetcher
from bot.http_async import AsyncFetcher
from bot.sources.base import SourceError
from bot.sources.bluesky import JetstreamSource
from bot.sources.mastodon_client import MastodonClient
from tests.fakes.tripwire import Tripwire

REDIRECTOR = "127.0.0.2"  # allowed: the hop every redirect chain starts from

# The host part of each URL; {port} is the tripwire's. Each names 127.0.0.1 or ::1 (where
# the tripwire listens) unless it names another internal or metadata address.
SPELLINGS = [
    "127.0.0.1:{port}", "127.1:{port}", "127.0.1:{port}", "2130706433:{port}",
    "0x7f000001:{port}", "0x7f.0.0.1:{port}", "0x7f.1:{port}", "0177.0.0.1:{port}",
    "0177.1:{port}", "017700000001:{port}", "127.000.000.001:{port}",
    "0x7F.0x00.0x00.0x01:{port}", "①②⑦.0.0.1:{port}", "①②⑦.⓪.⓪.①:{port}",
    "127。0。0。1:{port}", "127．0．0．1:{port}", "127｡0｡0｡1:{port}", "１２７.０.０.１:{port}",
    "127.0.0.1.:{port}", "localhost:{port}", "LOCALHOST:{port}", "localhost.:{port}",
    "LocalHost:{port}", "[::1]:{port}", "[::ffff:127.0.0.1]:{port}", "[::ffff:7f00:1]:{port}",
    "[0:0:0:0:0:ffff:127.0.0.1]:{port}", "[::127.0.0.1]:{port}", "[0:0:0:0:0:0:0:1]:{port}",
    "[2002:7f00:1::]:{port}", "[64:ff9b::7f00:1]:{port}", "0.0.0.0:{port}", "0:{port}",
    "0x0:{port}", "evil.test:{port}", "EVIL.TEST:{port}", "evil.test.:{port}",
    "mixed.test:{port}", "v6.test:{port}", "mapped.test:{port}",
    "user:pass@127.0.0.1:{port}", "redirector.test@127.0.0.1:{port}",
    "127.0.0.1:{port}#@redirector.test", "127.0.0.1:{port}\\@redirector.test",
    "redirector.test:1@127.0.0.1:{port}", "127.0.0.1:{port}%2f@redirector.test",
    "169.254.169.254", "0xa9fea9fe", "⑯⑨.②⑤④.⑯⑨.②⑤④", "169.254.169.254.",
    "metadata.google.internal", "METADATA.GOOGLE.INTERNAL.", "meta.test", "[fd00:ec2::254]",
    "10.0.0.1", "192.168.1.1", "172.16.0.1", "100.64.0.1", "198.18.0.1", "224.0.0.1",
    "255.255.255.255", "[fe80::1%25lo]", "[fc00::1]", "127.0.0.1.evil.test:{port}",
]  # fmt: skip
OTHER_SCHEMES = [
    "file:///etc/passwd", "gopher://127.0.0.1:{port}/", "ftp://127.0.0.1:{port}/",
    "dict://127.0.0.1:{port}/", "data:text/plain,hello", "javascript:alert(1)",
]  # fmt: skip
DNS = {
    "evil.test": ["127.0.0.1"],
    "meta.test": ["169.254.169.254"],
    "mixed.test": ["93.184.216.34", "127.0.0.1"],
    "v6.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "redirector.test": [REDIRECTOR],
}


def resolver(host: str, port: int) -> list[str]:
    """Test DNS: the names above, nothing else (no lookup ever leaves the machine)."""
    name = host.lower().rstrip(".")
    if name in DNS:
        return DNS[name]
    raise socket.gaierror(socket.EAI_NONAME, f"{host} is not a test name")


# --- the servers --------------------------------------------------------------------------
class Tripwires:
    """The tripwire on 127.0.0.1 and on ::1, on one port."""

    def __init__(self) -> None:
        for _ in range(50):
            four = Tripwire("127.0.0.1")
            try:
                six = Tripwire("::1") if _bind_v6(four.port) else None
            except OSError:
                four.stop()
                continue
            break
        self.four, self.six, self.port = four, six, four.port

    def __enter__(self) -> Tripwires:
        self.four.start()
        if self.six is not None:
            self.six.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.four.stop()
        if self.six is not None:
            self.six.stop()

    @property
    def touched(self) -> bool:
        return self.four.touched or (self.six is not None and self.six.touched)


def _bind_v6(port: int) -> bool:
    probe = socket.socket(socket.AF_INET6)
    try:
        probe.bind(("::1", port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class Redirector:
    """On 127.0.0.2: /r?to=URL answers 302 to URL; /r2?to=URL to /r?to=URL (two hops)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                target = parse_qs(parts.query).get("to", [""])[0]
                if parts.path == "/r2":
                    target = "/r?to=" + quote(target, safe="")
                elif parts.path != "/r":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(302)
                # Raw UTF-8, as a hostile server sends it (send_header would refuse it).
                self._headers_buffer.append(b"Location: " + target.encode() + b"\r\n")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((REDIRECTOR, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, target: str, hops: int = 1, scheme: str = "http") -> str:
        path = "/r2" if hops == 2 else "/r"
        return f"{scheme}://{REDIRECTOR}:{self.port}{path}?to={quote(target, safe='')}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def wires() -> Iterator[Tripwires]:
    with Tripwires() as tripwires:
        yield tripwires


@pytest.fixture(scope="module")
def redirector() -> Iterator[Redirector]:
    server = Redirector()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fetcher() -> Iterator[HttpFetcher]:
    f = HttpFetcher(timeout=3, allow_private_hosts=[REDIRECTOR], resolver=resolver)
    yield f
    f.close()


# --- the clients --------------------------------------------------------------------------
def httpx_sync(fetcher: HttpFetcher, url: str) -> None:
    fetcher.get(url)


def _async(backend: str) -> Callable[[HttpFetcher, str], None]:
    def run(fetcher: HttpFetcher, url: str) -> None:
        async def fetch() -> None:
            client = AsyncFetcher(fetcher, backend=backend)
            try:
                await client.get(url)
            finally:
                await client.aclose()

        asyncio.run(fetch())

    return run


def websocket(fetcher: HttpFetcher, url: str) -> None:
    source = JetstreamSource("ws", url.replace("http://", "ws://", 1), fetcher)
    with source._connect(None):
        pass


def mastodon(fetcher: HttpFetcher, url: str) -> None:
    client = MastodonClient("m", "https://mastodon.example", "acme", fetcher, token="t0k3n")
    with client.open(read_timeout=3, max_body_bytes=10_000), client.get(url, "text/plain"):
        pass


CLIENTS = {
    "httpx": httpx_sync,
    "httpx-async": _async("httpx"),
    "aiohttp": _async("aiohttp"),
    "websocket": websocket,
    "mastodon": mastodon,
}
# What a client may raise besides FetchError: the WebSocket client reports a redirect (which
# it never follows) as a refused handshake, the Mastodon client a refused URL as SourceError.
ALSO = {"websocket": (InvalidHandshake,), "mastodon": (SourceError,)}


def cases() -> list[tuple[str, str, bool]]:
    """(id, URL template, must be refused): every spelling directly, every spelling behind
    one and behind two redirects, and the other schemes likewise."""
    table = []
    for host in SPELLINGS:
        url = "http://" + host + "/feed"
        table.append((f"direct {host}", url, True))
        table.append((f"redirect {host}", "redirect:1:" + url, False))
        table.append((f"2 redirects {host}", "redirect:2:" + url, False))
    for url in OTHER_SCHEMES:
        table.append((f"direct {url}", url, True))
        table.append((f"redirect {url}", "redirect:1:" + url, False))
    table += [
        ("redirect scheme-relative", "redirect:1://127.0.0.1:{port}/feed", False),
        ("redirect scheme-relative circled", "redirect:1://①②⑦.0.0.1:{port}/feed", False),
        ("redirect no-slash scheme", "redirect:1:http:127.0.0.1:{port}/feed", False),
        ("redirect backslashes", "redirect:1:\\\\127.0.0.1:{port}/feed", False),
        ("redirect uppercase scheme", "redirect:1:HTTP://127.0.0.1:{port}/feed", False),
        ("redirect https to loopback", "redirect:1:https://127.0.0.1:{port}/feed", False),
    ]
    return table


CASES = cases()


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize(("url", "refused"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_no_spelling_or_redirect_reaches_an_internal_address(
    client: str,
    url: str,
    refused: bool,
    wires: Tripwires,
    redirector: Redirector,
    fetcher: HttpFetcher,
) -> None:
    url = url.replace("{port}", str(wires.port))
    if client == "websocket":  # the same spellings, as WebSocket URLs
        url = url.replace("http://", "ws://").replace("https://", "wss://")
    if url.startswith("redirect:"):
        _, hops, target = url.split(":", 2)
        url = redirector.url(target, hops=int(hops))
    try:
        CLIENTS[client](fetcher, url)
    except (FetchError, *ALSO.get(client, ())):
        pass  # a clear refusal: anything else (a crash) fails the test
    else:
        assert not refused, "fetched without an error"
    assert not wires.touched, "the tripwire saw a connection"


def test_the_table_covers_at_least_sixty_spellings_and_redirect_chains_per_client() -> None:
    assert len(SPELLINGS) + len(OTHER_SCHEMES) >= 60
    assert sum(1 for c in CASES if c[1].startswith("redirect:")) >= 60


def test_an_allowed_host_behind_a_redirect_is_reached(
    redirector: Redirector, fetcher: HttpFetcher
) -> None:
    # The control: the same machinery does connect where it may (the redirector answers 404
    # for a path it does not know, after the redirect was followed).
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher.get(redirector.url(f"http://redirector.test:{redirector.port}/nowhere"))

"""No log line at any level holds a secret: the logging the CLI sets up, at DEBUG, while
every HTTP and WebSocket client talks to a server that reflects Authorization back in its
answer's headers and body, and our own lines carry URLs with credentials."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.config import load_settings
from bot.http import FetchError, HttpFetcher
from bot.http_async import BACKENDS, AsyncFetcher
from bot.log_redaction import install, redact
from bot.sources.base import FeedState, SourceError
from bot.sources.bluesky import JetstreamSource
from bot.sources.mastodon_client import MastodonClient
from bot.sources.reddit import RedditSource
from tests.fakes.jetstream_server import FakeJetstream

MASTODON_TOKEN = "masto-token-0123456789abcdef"
REDDIT_SECRET = "reddit-secret-value-42"
SLACK_TOKEN = "xoxb-1234-5678-abcdEFGHijkl"
QUERY_TOKEN = "query-secret-0987654321"


class Reflector:
    """Answers every request with its Authorization (and Cookie) in headers and body."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reflect(self) -> None:
                auth = self.headers.get("Authorization", "")
                body = f'{{"echo": "{auth}", "access_token": "{auth}"}}'.encode()
                self.send_response(200)
                self.send_header("Authorization", auth)
                self.send_header("Set-Cookie", f"session={auth}")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _reflect

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The root logger at DEBUG into a buffer, set up as the CLI does; restored after."""
    monkeypatch.setenv("ACME_MASTODON_TOKEN", MASTODON_TOKEN)
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers, root.level = [handler], logging.DEBUG
    quiet = {n: logging.getLogger(n).level for n in ("httpcore", "h11", "h2", "hpack")}
    settings = load_settings(
        slack_bot_token=SLACK_TOKEN, reddit_client_id="cid-abcdef",
        reddit_client_secret=REDDIT_SECRET, allow_private_hosts=["127.0.0.1"],
    )  # fmt: skip
    install(settings)
    for name in quiet:  # DEBUG for them too: the redaction, not their level, must hold
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.handlers, root.level = saved[1], saved[0]
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


def test_no_secret_reaches_a_log_line_from_any_client_at_debug(captured: io.StringIO) -> None:
    reflector = Reflector()
    jetstream = FakeJetstream().start()
    fetcher = HttpFetcher(timeout=3, allow_private_hosts=["127.0.0.1"])
    log = logging.getLogger("bot.test")
    try:
        url = f"{reflector.url}/feed?token={QUERY_TOKEN}"
        with contextlib.suppress(FetchError, SourceError):
            fetcher.get(url)
        for backend in BACKENDS:

            async def fetch(backend: str = backend) -> None:
                client = AsyncFetcher(fetcher, backend=backend)
                try:
                    await client.get(url)
                finally:
                    await client.aclose()

            with contextlib.suppress(FetchError):
                asyncio.run(fetch())
        mastodon = MastodonClient("m", reflector.url, "acme", fetcher, token=MASTODON_TOKEN)
        instance = f"{reflector.url}/api/v1/instance"
        with (
            mastodon.open(read_timeout=3, max_body_bytes=10_000),
            mastodon.get(instance, "application/json") as answer,
        ):
            log.debug("mastodon answered %s with %s", answer.headers, answer.read())
        reddit = RedditSource("r", "acme", fetcher, client_id="cid-abcdef",
                              client_secret=REDDIT_SECRET, auth_url=reflector.url,
                              api_url=reflector.url, attempts=1)  # fmt: skip
        with contextlib.suppress(SourceError):
            reddit.fetch(FeedState())
        stream = JetstreamSource("ws", f"{jetstream.url}?token={QUERY_TOKEN}", fetcher)
        with contextlib.suppress(SourceError):
            stream.check()
        log.info(
            "fetching https://user:%s@example.com/x?access_token=%s", REDDIT_SECRET, "abc123456"
        )
        try:
            raise RuntimeError(f"refused Authorization: Bearer {MASTODON_TOKEN} for {SLACK_TOKEN}")
        except RuntimeError:
            log.exception("a failure that quotes secrets")
    finally:
        fetcher.close()
        jetstream.stop()
        reflector.stop()
    text = captured.getvalue()
    assert "HTTP" in text and "websockets" in text  # the clients did log, at DEBUG
    basic = base64.b64encode(f"cid-abcdef:{REDDIT_SECRET}".encode()).decode()
    for secret in (MASTODON_TOKEN, REDDIT_SECRET, SLACK_TOKEN, QUERY_TOKEN, basic, "abc123456"):
        assert secret not in text, f"{secret} is in the log:\n{text}"
    assert "[redacted]" in text


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("(b'Authorization', b'Bearer abcdefgh12345')", "(b'Authorization', b'[redacted]')"),
        ("> Authorization: Basic Y2lkOnNlY3JldA==", "> Authorization: [redacted]"),
        ("GET https://h/feed?a=1&token=t0k3n&b=2", "GET https://h/feed?a=1&token=[redacted]&b=2"),
        ("postgresql://bot:hunter22@db:5432/x", "postgresql://[redacted]@db:5432/x"),
        ("token xoxb-123456-abcdef used", "token [redacted] used"),
        ("polled 3 sources (0 failed)", "polled 3 sources (0 failed)"),
    ],
)
def test_credential_shapes_are_redacted_and_the_rest_kept(line: str, kept: str) -> None:
    assert redact(line) == kept

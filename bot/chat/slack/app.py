"""Build the Bolt app from settings, and run it over Socket Mode or HTTP.

No App exists at import time: `build_app` makes one per call, from settings, with request
signature verification on, and registers the listeners (bot/chat/slack/listeners.py) that
turn Slack's payloads into calls on the shared chat service. Listeners run with
`process_before_response=False` (Bolt's default for long-running processes): `ack()` answers
Slack at once and the work (store, chat.update, views.open) continues on Bolt's worker
threads, well inside Slack's 3-second window in both Socket Mode and HTTP mode.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import Counter
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.chat.service import ChatService
from bot.chat.slack.guard import foreign_request_guard
from bot.chat.slack.listeners import register
from bot.chat.slack.transport import SlackAdapter, secret
from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MALFORMED_REQUESTS = Counter(
    "mentionbot_slack_malformed_requests_total", "Requests to /slack/events that did not parse"
)
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are a few kB; anything huge is not from Slack


def listener_client(settings: Settings) -> WebClient:
    """The client listeners use. Unlike the outbox's, it may wait out a rate limit: a click
    was already acknowledged, and a late redraw beats a lost one."""
    token = secret(settings.slack.bot_token, "SLACK_BOT_TOKEN")
    return WebClient(
        token=token,
        base_url=settings.slack.api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(
    settings: Settings,
    service: ChatService,
    *,
    adapter: SlackAdapter | None = None,
    listener_executor: Executor | None = None,
) -> App:
    """A Bolt App with every listener registered. Calls auth.test once, so a wrong token
    fails here, at start, with a readable ConfigError. `adapter` (default: one on the
    listener client) is what listeners use to tell a person something privately;
    `listener_executor` runs the listeners after `ack()` (Bolt's own pool by default; tests
    pass one they can wait on)."""
    signing_secret = ""
    if settings.slack.signing_secret is not None:
        signing_secret = settings.slack.signing_secret.get_secret_value()
    if settings.slack.mode == "http" and not signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http")
    client = adapter.client if adapter is not None else listener_client(settings)
    try:
        app = App(
            client=client,
            # Socket Mode requests arrive over an authenticated websocket and skip signature
            # checks; HTTP requests are always verified against the signing secret.
            signing_secret=signing_secret,
            request_verification_enabled=True,
            token_verification_enabled=True,
            process_before_response=False,
            listener_executor=listener_executor,
            logger=logging.getLogger("bot.chat.slack.bolt"),
        )
    except Exception as exc:  # BoltError wraps auth.test's answer; never echo the token
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN: {_reason(exc)}") from None
    try:
        team_id = str(client.auth_test().get("team_id") or "")
    except Exception as exc:
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN: {type(exc).__name__}") from None
    app.use(foreign_request_guard(team_id, settings.slack.app_id))
    register(app, service, adapter or SlackAdapter(client))
    return app


def _reason(exc: Exception) -> str:
    """Slack's error code from a BoltError, without anything that could hold the token."""
    text = str(exc)
    for code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked",
                 "token_expired"):  # fmt: skip
        if code in text:
            return code
    return type(exc).__name__


# --- Socket Mode ------------------------------------------------------------------------------


def run_socket_mode(app: App, settings: Settings, stop: threading.Event | None = None) -> None:
    """Connect over Socket Mode and serve until `stop` is set (forever without one)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app_token = secret(settings.slack.app_token, "SLACK_APP_TOKEN")
    if not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
    handler = SocketModeHandler(app, app_token)
    handler.connect()
    log.info("Slack Socket Mode connected")
    try:
        (stop or threading.Event()).wait()
    finally:
        handler.close()


# --- HTTP -------------------------------------------------------------------------------------


def make_http_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    """A bound (not yet serving) HTTP server for POST /slack/events and GET /healthz.

    Bolt does the signature check (RequestVerification middleware): an unsigned, stale or
    forged request gets 401 before any listener runs."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http %s", format % args)

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == "/healthz":
                self._reply(200, b"ok", {"Content-Type": "text/plain"})
            else:
                self._reply(404, b"not found", {"Content-Type": "text/plain"})

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            if path != EVENTS_PATH:
                self._reply(404, b"not found", {"Content-Type": "text/plain"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True  # the unread body must not be taken for a request
                self._reply(413, b"too large", {"Content-Type": "text/plain"})
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers: dict[str, str | list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)  # type: ignore[union-attr]
            try:
                # Bolt parses the body while building the request and trips over payloads
                # that are not JSON objects; such a request is not Slack's, whoever signed it.
                request = BoltRequest(body=body, query=query, headers=headers)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                MALFORMED_REQUESTS.inc()
                log.warning("refused a malformed request (%s)", type(exc).__name__)
                self._reply(400, b"malformed request", {"Content-Type": "text/plain"})
                return
            response = app.dispatch(request)
            extra = {k: v[0] for k, v in response.headers.items() if v}
            self._reply(response.status, (response.body or "").encode(), extra)

        def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def start_http_server(
    app: App, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, int]:
    """Serve in a daemon thread; returns the server (call `.shutdown()` to stop) and its port.
    Port 0 picks a free one, which is what tests want."""
    server = make_http_server(app, host, port)
    # serve_forever polls for shutdown() every 0.1 s: stopping takes that, not 0.5 s.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.1,), name="slack-http", daemon=True
    )
    thread.start()
    return server, server.server_address[1]


def run_http(app: App, settings: Settings, stop: threading.Event | None = None) -> None:
    """Serve /slack/events on settings.http_host:http_port until `stop` is set."""
    server, port = start_http_server(app, settings.http_host, settings.http_port)
    log.info("Slack HTTP endpoint on http://%s:%d%s", settings.http_host, port, EVENTS_PATH)
    try:
        (stop or threading.Event()).wait()
    finally:
        server.shutdown()
        server.server_close()

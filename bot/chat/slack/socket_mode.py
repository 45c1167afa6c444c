"""Slack Socket Mode that stays up: a connection lifecycle on slack_sdk's asyncio client base.

slack_sdk ships four Socket Mode clients; measured against a local server that behaves as
Slack's does (tests/fakes/fake_socket_mode.py, bench/socket_mode.py), none keeps a bot
reachable on its own:

- builtin: a connection dropped without a close frame is noticed only after ~50-60 s of
  failed pings, with a core at 100 % meanwhile (its reader spins on the dead socket); after a
  `disconnect` the old socket's close holds the read lock for its 3 s receive timeout, so an
  envelope on the new connection is acked after 3.06 s, past Slack's 3 s;
- websocket_client: reconnects fast, but never notices a half-open connection (no pong
  deadline), and its reader thread stays on the old socket until that one's close times out;
- aiohttp, websockets: notice a drop only at their next monitor tick (10 s in Bolt), the
  websockets one a half-open connection only after ~50 s, and aiohttp's retries a handshake
  with the same one-time URL forever.

So the connection lifecycle is ours, and small, on `AsyncBaseSocketModeClient` (which keeps
slack_sdk's URL issuing with its rate-limit wait, message queue, `disconnect` handling and
request parsing) and the `websockets` library:

- the reader of a connection notices its end at once (close frame, FIN, RST) and reconnects
  with a fresh URL from `apps.connections.open` (tickets are one-time); quick successive
  failures back off (1 s doubling to 30 s), since that method is rate-limited (Tier 1);
- keepalive pings every PING_INTERVAL s must be answered within PING_TIMEOUT s, so a
  half-open connection is given up within about ten seconds;
- a refresh opens the new connection and starts reading it before the old one is closed,
  and that close runs on its own: nothing waits for a socket that is going away.

`SocketModeRunner` runs the client on an asyncio loop in a thread and hands each envelope
to the sync Bolt App in a thread pool (as Bolt's own sync handlers do), so a slow listener
never holds up the acks of others.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import websockets
from slack_bolt import App
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from bot.chat.slack.transport import secret
from bot.config import ConfigError, Settings
from bot.loop_thread import LoopThread

log = logging.getLogger(__name__)

PING_INTERVAL = 5.0  # seconds between keepalive pings
PING_TIMEOUT = 5.0  # a pong later than this ends the connection
CLOSE_TIMEOUT = 2.0  # how long a closing handshake may take before the socket is cut
STABLE_AFTER = 30.0  # a connection that lived this long is reconnected without delay
RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # backoff between failed or short-lived connections
MAX_MESSAGE_BYTES = 1_000_000  # Slack's envelopes are a few kB, like its HTTP requests
DOWN_UNHEALTHY_AFTER = 60.0  # /healthz fails after this long without a connection


class ReconnectingSocketModeClient(AsyncBaseSocketModeClient):
    """One live Socket Mode connection at a time, replaced at once when it ends."""

    def __init__(
        self,
        app_token: str,
        web_client: AsyncWebClient,
        *,
        ping_interval: float = PING_INTERVAL,
        ping_timeout: float = PING_TIMEOUT,
        logger: logging.Logger = log,
    ) -> None:
        self.app_token = app_token
        self.web_client = web_client
        self.logger = logger
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.wss_uri = ""  # one-time URL to use next; "" = ask apps.connections.open
        self.auto_reconnect_enabled = True
        self.trace_enabled = False
        self.closed = False
        self.connect_operation_lock = asyncio.Lock()
        self.message_queue: asyncio.Queue[str] = asyncio.Queue()
        self.message_listeners = []
        self.socket_mode_request_listeners = []
        self.current_session: ClientConnection | None = None
        self.connections = 0  # opened so far
        self.down_since: float | None = time.monotonic()  # None while connected
        self._retry_delay = 0.0
        self._tasks: set[asyncio.Future[Any]] = set()
        self._spawn(self.process_messages())

    # --- the contract of AsyncBaseSocketModeClient -------------------------------------------
    async def is_connected(self) -> bool:
        session = self.current_session
        return not self.closed and session is not None and session.state is State.OPEN

    async def session_id(self) -> str:
        return f"s_{id(self.current_session):x}" if self.current_session else ""

    async def connect(self) -> None:
        url, self.wss_uri = self.wss_uri or await self.issue_new_wss_url(), ""
        session = await websockets.connect(
            url,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            close_timeout=CLOSE_TIMEOUT,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
        )
        old, self.current_session = self.current_session, session
        self.connections += 1
        self.down_since = None
        self._spawn(self._read(session))
        if old is not None:
            self._spawn(old.close())  # on its own: the new connection is already being read
        self.logger.info("Slack Socket Mode connected (connection %d)", self.connections)

    async def disconnect(self) -> None:
        if self.current_session is not None:
            await self.current_session.close()

    async def send_message(self, message: str) -> None:
        session = self.current_session
        if session is None:
            raise ConnectionError("no Socket Mode connection")
        try:
            await session.send(message)
        except ConnectionClosed:
            # Replaced while we were answering: the new connection takes the ack.
            if self.current_session is None or self.current_session is session:
                raise
            await self.current_session.send(message)

    async def close(self) -> None:
        self.closed = True
        self.auto_reconnect_enabled = False
        session, self.current_session = self.current_session, None
        if session is not None:
            await session.close()
        for task in list(self._tasks):
            task.cancel()

    # --- the lifecycle -----------------------------------------------------------------------
    async def _read(self, session: ClientConnection) -> None:
        opened = time.monotonic()
        try:
            async for message in session:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await self.enqueue_message(text)
        except ConnectionClosed:
            pass
        if session is not self.current_session or self.closed:
            return  # replaced by a refresh, or closing: nothing to do
        self.down_since = time.monotonic()
        lived = time.monotonic() - opened
        how = "closed by Slack" if session.close_code == 1000 else "dropped"
        self.logger.warning(
            "Slack Socket Mode connection %s after %.0f s (code %s); reconnecting",
            how,
            lived,
            session.close_code,
        )
        if lived >= STABLE_AFTER:
            self._retry_delay = 0.0
        await self._reconnect(session)

    async def _reconnect(self, lost: ClientConnection | None) -> None:
        while not self.closed and self.current_session is lost:
            if self._retry_delay:
                await asyncio.sleep(self._retry_delay * random.uniform(0.8, 1.2))
            self._retry_delay = min(RETRY_MAX, max(RETRY_FIRST, self._retry_delay * 2))
            try:
                await self.connect_to_new_endpoint()
            except Exception as exc:
                detail = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
                self.logger.warning(
                    "Slack Socket Mode reconnect failed (%s: %s)", type(exc).__name__, detail
                )

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class SocketModeRunner:
    """The Bolt App over Socket Mode: a loop thread for the connection, a pool for dispatch."""

    def __init__(
        self,
        app: App,
        app_token: str,
        *,
        api_url: str,
        ping_interval: float = PING_INTERVAL,
        ping_timeout: float = PING_TIMEOUT,
        workers: int = 8,
        unhealthy_after: float = DOWN_UNHEALTHY_AFTER,
    ) -> None:
        if not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
        self.app = app
        self._token = app_token
        self._api_url = api_url
        self._ping = (ping_interval, ping_timeout)
        self._unhealthy_after = unhealthy_after
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-socket")
        self._io = LoopThread("slack-socket-mode")
        self.client: ReconnectingSocketModeClient | None = None

    def start(self, timeout: float = 30.0) -> SocketModeRunner:
        """Check the app token with Slack, then connect. A rejected token is a ConfigError
        naming SLACK_APP_TOKEN and Slack's error (never the token)."""
        self._io.start()
        try:
            self._io.run(self._start(), timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._io.alive and self.client is not None:
            try:
                self._io.run(self.client.close(), CLOSE_TIMEOUT + 1)
            except Exception as exc:  # a close that fails leaves nothing to keep
                log.debug("Socket Mode close: %s", type(exc).__name__)
        self._io.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> bool:
        return self._io.alive

    def health(self) -> str | None:
        """None while connected or briefly reconnecting; else what is wrong (for /healthz)."""
        client = self.client
        down = client.down_since if client is not None else None
        if down is None or time.monotonic() - down < self._unhealthy_after:
            return None
        return f"Slack Socket Mode disconnected for {time.monotonic() - down:.0f} s"

    async def _start(self) -> None:
        web_client = AsyncWebClient(base_url=self._api_url, timeout=15)
        client = ReconnectingSocketModeClient(
            self._token, web_client, ping_interval=self._ping[0], ping_timeout=self._ping[1]
        )
        client.socket_mode_request_listeners.append(self._dispatch)
        self.client = client
        client.wss_uri = await open_connection_url(web_client, self._token)
        try:
            await client.connect()
        except Exception as exc:  # Slack is there and took the token: keep trying
            log.warning("Slack Socket Mode: first connection failed (%s)", type(exc).__name__)
            client._spawn(client._reconnect(None))

    async def _dispatch(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time.time()
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._pool, run_bolt_app, self.app, req)
        await send_async_response(client, req, response, started)


def connect_socket_mode(app: App, settings: Settings) -> SocketModeRunner:
    """Serve `app` over Socket Mode with SLACK_APP_TOKEN; a ConfigError if Slack refuses it."""
    token = secret(settings.slack.app_token, "SLACK_APP_TOKEN")
    return SocketModeRunner(app, token, api_url=settings.slack.api_url).start()


async def open_connection_url(web_client: AsyncWebClient, app_token: str) -> str:
    """apps.connections.open with the app token: a one-time WebSocket URL, or a ConfigError
    that names SLACK_APP_TOKEN and what Slack said."""
    try:
        response = await web_client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN (apps.connections.open: {error})"
        ) from None
    except Exception as exc:
        raise ConfigError(
            f"cannot reach Slack to check SLACK_APP_TOKEN (apps.connections.open: "
            f"{type(exc).__name__})"
        ) from None
    return str(response["url"])

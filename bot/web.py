"""The one web front: /healthz, /metrics and each chat platform's webhook on one ASGI app.

FastAPI (on Starlette), served by uvicorn: both Bolt and the Microsoft Teams SDK have
adapters for it. A chat platform adds its routes through a route provider, a function that
registers them on the FastAPI app (Slack's `/slack/events`, Teams' `/api/messages`). In
Socket Mode the front serves only /healthz and /metrics.

Every request body is read here first, at most MAX_BODY_BYTES of it and within
BODY_TIMEOUT seconds, whatever Content-Length says: a larger one is answered 413 before a
route sees it, a slow one 408. Webhook payloads are a few kB; anything huge is not theirs.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import ConfigError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
BODY_TIMEOUT = 10.0  # seconds for the whole body of one request
MAX_CONNECTIONS = 200  # beyond this uvicorn answers 503 rather than queueing

RouteProvider = Callable[[FastAPI], None]
HealthCheck = Callable[[], str | None]  # None when healthy, else what is wrong


@dataclass
class Inbound:
    """What a chat platform brings to `mentionbot run`: routes for the web front, checks for
    /healthz, and how to stop what it started (a Socket Mode connection)."""

    routes: list[RouteProvider] = field(default_factory=list)
    health: list[HealthCheck] = field(default_factory=list)
    close: Callable[[], None] = lambda: None

    def __add__(self, other: Inbound) -> Inbound:
        """Two platforms on one front: both their routes and checks; closing closes both."""

        def close() -> None:
            try:
                self.close()
            finally:
                other.close()

        return Inbound([*self.routes, *other.routes], [*self.health, *other.health], close)


def build_web_app(
    routes: Sequence[RouteProvider] = (),
    *,
    health: Sequence[HealthCheck] = (),
    metrics: bool = True,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
) -> FastAPI:
    """The ASGI app: /healthz, /metrics (unless `metrics=False`), and each provider's routes.
    Anything else is 404."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, timeout=body_timeout)

    @app.get("/healthz", response_class=PlainTextResponse)
    async def healthz() -> Response:
        problems = [problem for check in health if (problem := check())]
        if problems:
            return PlainTextResponse("; ".join(problems), status_code=503)
        return PlainTextResponse("ok")

    if metrics:

        @app.get("/metrics")
        async def prometheus_metrics(request: Request) -> Response:
            encoder, content_type = choose_encoder(request.headers.get("accept", ""))
            return Response(encoder(REGISTRY), media_type=content_type)

    for provide in routes:
        provide(app)
    return app


class BodyLimit:
    """ASGI middleware: read the request body up to a cap and a deadline, then pass it on."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, timeout: float = BODY_TIMEOUT
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send, 413, b"too large")  # before reading a byte of it
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await _refuse(send, 413, b"too large")
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _refuse(send, 408, b"request body too slow")
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as ASGI says

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, text: bytes) -> None:
    # `connection: close`: the unread rest of the body must not be taken for a request
    headers = [
        (b"content-type", b"text/plain"),
        (b"content-length", str(len(text)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


class WebFront:
    """uvicorn serving an ASGI app in a thread: `start()` binds (port 0 picks a free one) and
    returns at once, listening; `stop()` closes connections and joins the thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.config = uvicorn.Config(
            app,
            log_config=None,  # the bot's logging as configured
            access_log=False,
            server_header=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(self.config)
        self._socket = _listen(host, port)
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="web-front", daemon=True)
        self.failure: BaseException | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def _serve(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self._socket]))
        except BaseException as exc:  # SystemExit from a failed startup included
            self.failure = exc
            log.error("web front stopped: %s", exc)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a taken port is an error at start, in the
    caller's thread (uvicorn would exit the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} (HTTP_HOST, HTTP_PORT): {exc.strerror}"
        ) from None

"""Teams on the one web front: `mount_teams` adds POST /api/messages to an existing FastAPI
app (bot/web.py serves it with /healthz, /metrics and /slack/events).

The Teams SDK (`microsoft_teams.apps.App`) parses activities, routes them to the listeners
(bot/chat/teams/listeners.py) and formats invoke answers. Its server side is self-managed
("Self-Managing Your Server" in the SDK's guide): `GuardedAdapter` is the SDK's
HttpServerAdapter for our FastAPI app, and it refuses what must never reach the SDK: bodies
over 1 MB or not a JSON object (400/413), and requests that fail the Bot Framework checks of
bot/chat/teams/auth.py (401, or 403 for another tenant or service URL). That check is the one
check: the SDK's own token check is off, because a second key cache with its own cool-down
disagrees with ours after a key rotation. Every accepted activity also teaches the bot where
it can post (bot/chat/teams/learn.py).

`TEAMS_DANGEROUSLY_ACCEPT_UNAUTHENTICATED_REQUESTS` turns every check off, for a local
emulator only; it is logged as an error at start and reported by `mentionbot check`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import Counter

from bot.chat.service import ChatService
from bot.chat.teams.auth import Authenticator, AuthError, SigningKeys
from bot.chat.teams.learn import Learner
from bot.chat.teams.listeners import Listeners
from bot.chat.teams.tokens import BotTokens
from bot.chat.teams.transport import TeamsAdapter
from bot.config import ConfigError, Settings
from bot.web import Inbound

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
MAX_BODY_BYTES = 1_000_000  # Teams' activities are a few kB; anything huge is not from Teams
REFUSED = Counter(
    "mentionbot_teams_refused_requests_total",
    "Requests to /api/messages refused before the Teams SDK saw them",
    ["status"],
)


def teams_adapter(settings: Settings, store: Any) -> TeamsAdapter:
    """The Teams transport from settings (ConfigError names what is missing)."""
    teams = settings.teams
    if not teams.app_id:
        raise ConfigError("TEAMS_APP_ID is not set")
    admins = frozenset(a for a in settings.admin_users if a.startswith("teams:"))
    return TeamsAdapter(store, teams, BotTokens(teams), admins=admins)


@dataclass
class TeamsMount:
    """What `mount_teams` set up (tests read it; `close()` stops the connector loop)."""

    app: Any  # microsoft_teams.apps.App
    adapter: TeamsAdapter
    learner: Learner
    keys: SigningKeys

    def close(self) -> None:
        self.adapter.close()


def mount_teams(
    web: FastAPI,
    settings: Settings,
    service: ChatService,
    adapter: TeamsAdapter,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    keys: SigningKeys | None = None,
) -> TeamsMount:
    """Add POST /api/messages to `web`. Call before the server starts (not on a running
    event loop): the SDK app is initialised here."""
    from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
    from microsoft_teams.apps import App

    teams = settings.teams
    unauthenticated = teams.dangerously_accept_unauthenticated_requests
    if unauthenticated:
        log.error(
            "TEAMS_DANGEROUSLY_ACCEPT_UNAUTHENTICATED_REQUESTS is on: anyone who can reach %s "
            "can act as any Teams user. Never run it like this on a reachable host.",
            MESSAGES_PATH,
        )
    keys = keys or SigningKeys(teams.openid_metadata_url)
    authenticator = Authenticator(
        app_id=teams.app_id,
        tenant_id=teams.tenant_id,
        issuer=teams.token_issuer,
        keys=keys,
        service_url_prefixes=teams.service_url_prefixes,
    )
    learner = Learner(service.store, adapter, clock)
    listeners = Listeners(service, adapter)
    tokens = adapter.tokens

    async def app_token(scope: str | list[str], tenant_id: str | None = None) -> str:
        return await asyncio.to_thread(tokens.token)

    cloud = with_overrides(PUBLIC, bot_scope=teams.token_scope)
    guarded = GuardedAdapter(web, None if unauthenticated else authenticator, learner.learn)
    app = App(
        client_id=teams.app_id,
        tenant_id=teams.tenant_id or None,
        token=app_token,
        cloud=cloud,
        http_server_adapter=guarded,
        messaging_endpoint=MESSAGES_PATH,
        # GuardedAdapter has authenticated the request before the SDK sees it (or refused
        # it). The SDK's own check would be a second key cache with its own cool-down, which
        # refuses for a while what ours accepts after a key rotation, and it cannot check the
        # tenant or read the keys' location from the metadata; so it is ours alone.
        dangerously_allow_unauthenticated_requests=True,
    )

    @app.on_card_action_execute
    async def on_execute(ctx: Any) -> Any:
        return await listeners.on_execute(_raw(ctx.activity))

    @app.on_message
    async def on_message(ctx: Any) -> None:
        await listeners.on_message(_raw(ctx.activity))

    @app.on_file_consent
    async def on_file_consent(ctx: Any) -> None:
        await listeners.on_file_consent(_raw(ctx.activity))

    asyncio.run(app.initialize())
    return TeamsMount(app, adapter, learner, keys)


def _raw(activity: Any) -> dict[str, Any]:
    """The activity as Teams sent it (camelCase JSON), for parsing by our own rules."""
    return dict(activity.model_dump(by_alias=True, exclude_none=True, mode="json"))


class GuardedAdapter:
    """The SDK's HttpServerAdapter for an existing FastAPI app, with the checks in front."""

    def __init__(
        self,
        web: FastAPI,
        authenticator: Authenticator | None,
        learn: Callable[[dict[str, Any]], None],
    ) -> None:
        self.web = web
        self.authenticator = authenticator
        self.learn = learn

    def register_route(self, method: str, path: str, handler: Any) -> None:
        if method != "POST":
            raise ValueError(f"unsupported method {method}")

        async def endpoint(request: Request) -> Response:
            body = await _json_body(request)
            if isinstance(body, Response):
                return body
            if self.authenticator is not None:
                try:
                    await run_in_threadpool(
                        self.authenticator.authenticate,
                        request.headers.get("authorization", ""),
                        body,
                    )
                except AuthError as exc:
                    REFUSED.labels(str(exc.status)).inc()
                    log.warning("refused a Teams request (%d): %s", exc.status, exc.reason)
                    word = "Unauthorized" if exc.status == 401 else "Forbidden"
                    return JSONResponse({"error": word}, status_code=exc.status)
            await run_in_threadpool(self.learn, body)
            result = await handler({"body": body, "headers": dict(request.headers)})
            status, answer = int(result["status"]), result.get("body")
            if answer is None:
                return Response(status_code=status)
            return JSONResponse(answer, status_code=status)

        self.web.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)

    def serve_static(self, path: str, directory: str) -> None:
        raise NotImplementedError("mentionbot serves no static files")

    async def start(self, port: int) -> None:
        raise NotImplementedError("the web front (bot/web.py) runs the server")

    async def stop(self) -> None:
        return None


async def _json_body(request: Request) -> dict[str, Any] | Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        REFUSED.labels("413").inc()
        return JSONResponse({"error": "Too large"}, status_code=413)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            REFUSED.labels("413").inc()
            return JSONResponse({"error": "Too large"}, status_code=413)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        REFUSED.labels("400").inc()
        return JSONResponse({"error": "Not an activity"}, status_code=400)
    return body


def teams_inbound(settings: Settings, service: ChatService, adapter: TeamsAdapter) -> Inbound:
    """What Teams brings to the web front of `mentionbot run`: POST /api/messages (mounted
    when the app is built, before the server starts), and closing its connector loop."""
    mounts: list[TeamsMount] = []

    def add_routes(web: FastAPI) -> None:
        mounts.append(mount_teams(web, settings, service, adapter))

    def close() -> None:
        for mount in mounts:
            mount.close()

    return Inbound(routes=[add_routes], close=close)

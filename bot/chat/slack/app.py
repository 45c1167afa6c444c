"""Build the Bolt app from settings (transports: events.py on the web front, socket_mode.py).

No App exists at import time: `build_app` makes one per call, from settings, with request
signature verification on. Listeners run with `process_before_response=False` (Bolt's
default for long-running processes): `ack()` answers Slack at once and the work (store,
chat.update, views.open) continues on Bolt's worker threads, well inside Slack's 3-second
window in both Socket Mode and HTTP mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.chat.slack.actions import Deps, register_actions
from bot.chat.slack.commands import register_commands
from bot.chat.slack.guard import foreign_request_guard
from bot.chat.slack.notifier import secret
from bot.config import ConfigError, Settings
from bot.store.base import Store

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def listener_client(settings: Settings) -> WebClient:
    """The client listeners use. Unlike the outbox's, it may wait out a rate limit: a click
    was already acknowledged, and a late redraw beats a lost one."""
    token = secret(settings.slack_bot_token, "SLACK_BOT_TOKEN")
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], datetime] = _utcnow,
    client: WebClient | None = None,
) -> App:
    """A Bolt App with every listener registered. Calls auth.test once, so a wrong token
    fails here, at start, with a readable ConfigError."""
    signing_secret = ""
    if settings.slack_signing_secret is not None:
        signing_secret = settings.slack_signing_secret.get_secret_value()
    if settings.slack_mode == "http" and not signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is required when SLACK_MODE=http")
    client = client or listener_client(settings)
    try:
        app = App(
            client=client,
            # Socket Mode requests arrive over an authenticated websocket and skip signature
            # checks; HTTP requests are always verified against the signing secret.
            signing_secret=signing_secret,
            request_verification_enabled=True,
            token_verification_enabled=True,
            process_before_response=False,
            logger=logging.getLogger("bot.chat.slack.bolt"),
        )
    except Exception as exc:  # BoltError wraps auth.test's answer; never echo the token
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN: {exc}") from None
    try:
        team_id = str(client.auth_test().get("team_id") or "")
    except Exception as exc:
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN: {type(exc).__name__}") from None
    app.use(foreign_request_guard(team_id, settings.slack_app_id))
    deps = Deps(
        store=store,
        clock=clock,
        admins=frozenset(settings.admin_users),
        allowed_channels=frozenset(settings.allowed_channels),
    )
    register_actions(app, deps)
    register_commands(app, deps)
    return app

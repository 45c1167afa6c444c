"""Build the Bolt app from settings (transports: events.py on the web front, socket_mode.py).

No App exists at import time: `build_app` makes one per call, from settings, with request
signature verification on, and registers the listeners (bot/chat/slack/listeners.py) that
turn Slack's payloads into calls on the shared chat service. Listeners run with
`process_before_response=False` (Bolt's default for long-running processes): `ack()` answers
Slack at once and the work (store, chat.update, views.open) continues on Bolt's worker
threads, well inside Slack's 3-second window in both Socket Mode and HTTP mode.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App
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

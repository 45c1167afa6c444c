"""Slack's part in `mentionbot run`: HTTP mode adds /slack/events to the web front; Socket
Mode connects out (a rejected SLACK_APP_TOKEN stops the start here) and reports its
connection to /healthz."""

from __future__ import annotations

from bot.chat.slack.app import build_app
from bot.chat.slack.events import slack_events
from bot.chat.slack.socket_mode import connect_socket_mode
from bot.config import Settings
from bot.store.base import Store
from bot.web import Inbound


def start_inbound(settings: Settings, store: Store) -> Inbound:
    app = build_app(settings, store)
    if settings.slack_mode == "http":
        return Inbound(routes=[slack_events(app)])
    runner = connect_socket_mode(app, settings)
    return Inbound(health=[runner.health], close=runner.close)

"""How Slack's requests reach the Bolt App in `mentionbot run`: HTTP mode adds /slack/events
to the web front; Socket Mode connects out (a rejected SLACK_APP_TOKEN stops the start here)
and reports its connection to /healthz."""

from __future__ import annotations

from slack_bolt import App

from bot.chat.slack.events import slack_events
from bot.chat.slack.socket_mode import connect_socket_mode
from bot.config import Settings
from bot.web import Inbound


def start_inbound(app: App, settings: Settings) -> Inbound:
    if settings.slack.mode == "http":
        return Inbound(routes=[slack_events(app)])
    runner = connect_socket_mode(app, settings)
    return Inbound(health=[runner.health], close=runner.close)

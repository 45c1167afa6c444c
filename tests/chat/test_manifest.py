"""manifest.yml agrees with the code: the command we handle, the scopes we need, no more."""

from __future__ import annotations

import re
from pathlib import Path

from bot.chat.slack.ids import COMMAND

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def test_manifest_declares_the_command_socket_mode_and_only_needed_scopes() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    yaml_lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    body = "\n".join(yaml_lines)
    assert f"- command: {COMMAND}" in body
    assert re.search(r"interactivity:\n\s+is_enabled: true", body)
    assert "socket_mode_enabled: true" in body
    assert "org_deploy_enabled: false" in body
    scopes = re.findall(r"^\s+- ([a-z:.]+)$", body.split("    bot:\n", 1)[1], re.MULTILINE)
    assert scopes == [
        "chat:write",
        "commands",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
        "files:write",  # digest charts, /mentions export
        "im:write",  # the export goes to the person's direct messages
    ]
    # One event: the Home tab (bot/chat/slack/listeners.py registers it).
    assert re.search(r"event_subscriptions:\n\s+bot_events:\n\s+- app_home_opened\n", body)
    assert "home_tab_enabled: true" in body

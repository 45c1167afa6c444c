"""A small real Bolt App for transport tests: `/mentions TEXT` is acked with "got TEXT", and
`/mentions slow` is held at a gate until the test opens it (while `held` says it is there)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient


@dataclass
class EchoApp:
    app: App
    gate: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)


def echo_app(api_url: str, signing_secret: str | None = None) -> EchoApp:
    """`signing_secret` for HTTP mode; Socket Mode requests carry no signature."""
    app = App(client=WebClient(token="xoxb-echo", base_url=api_url), signing_secret=signing_secret)
    echo = EchoApp(app)

    def hold_slow_ones(body: dict[str, Any], next: Callable[[], Any]) -> Any:
        if body.get("text") == "slow":
            echo.held.set()
            echo.gate.wait(10)
        return next()

    app.use(hold_slow_ones)
    app.command("/mentions")(lambda ack, command: ack(f"got {command['text']}"))
    return echo

"""The team's digests and spike alerts as Adaptive Cards on Teams routes. The digest's chart
is an inline image (a base64 PNG: Teams' message size limit does not count it), above the
same numbers as a table for readers whose client shows no image."""

from __future__ import annotations

import base64
from typing import Any

from bot.chat.teams.cards import LIMITS, Json, adaptive_card, line_block, rich, run
from bot.chat.teams.transport import TeamsAdapter
from bot.chat.text import one_line, trim
from bot.models import Route
from bot.team.digest import DigestView
from bot.team.spikes import SpikeView


class TeamsTeamSender:
    def __init__(self, adapter: TeamsAdapter) -> None:
        self.adapter = adapter

    def post_digest(self, route: Route, view: DigestView) -> None:
        self._post(route, digest_card(view), view.headline)

    def post_spike(self, route: Route, view: SpikeView) -> None:
        self._post(route, spike_card(view), view.headline)

    def _post(self, route: Route, card: Json, summary: str) -> None:
        self.adapter.post_card(route, card, trim(one_line(summary), LIMITS["summary"]))


def digest_card(view: DigestView) -> Json:
    body: list[Json] = [_headline(view.headline)]
    body.extend(line_block(line) for line in view.summary)
    if view.chart_png:
        encoded = base64.b64encode(view.chart_png).decode("ascii")
        alt = trim(one_line(view.chart_alt), 500)
        image = {"type": "Image", "url": f"data:image/png;base64,{encoded}", "altText": alt}
        body.append({**image, "size": "Stretch"})
    body.append(rich([run(trim(view.table, 6000), fontType="Monospace")]))
    body.extend(_section("Top mentions", view.top))
    body.extend(_section("Open complaints", view.open_complaints))
    body.extend(line_block(line) for line in view.people)
    return adaptive_card(body)


def spike_card(view: SpikeView) -> Json:
    body: list[Json] = [_headline(view.headline)]
    body.extend(line_block(line) for line in view.summary)
    body.extend(_section("Top mentions", view.top))
    phrases = ", ".join(f"“{p}” × {n}" for p, n in view.phrases) or "none"
    body.append(rich([run(f"Common phrases: {phrases}", isSubtle=True)]))
    return adaptive_card(body)


def _headline(text: str) -> Json:
    return {"type": "TextBlock", "text": trim(one_line(text), 300), "weight": "Bolder",
            "size": "Medium", "wrap": True}  # fmt: skip


def _section(title: str, lines: Any) -> list[Json]:
    if not lines:
        return []
    return [rich([run(title, weight="Bolder")], separator=True),
            *(line_block(line) for line in lines)]  # fmt: skip

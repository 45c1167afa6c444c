"""Assembles the team workflow's scheduled jobs (the runtime starts their loop), and gives
each chat platform a sender for digests and spike alerts: Slack's own (blocks and a chart
image), or for any other adapter plain notes with the same text and tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bot.chat.port import ChatAdapter
from bot.chat.service import ChatService
from bot.chat.views import Line
from bot.config import WatchList
from bot.models import Route
from bot.store.base import Store
from bot.team.digest import Digests, DigestView
from bot.team.policy import Policies
from bot.team.reminders import Reminders
from bot.team.scheduler import TeamScheduler
from bot.team.spikes import Spikes, SpikeView
from bot.team.spread import ReachSource, Spread


class NoteSender:
    """Digests and spikes as plain notes, for a platform without a renderer of its own."""

    def __init__(self, adapter: ChatAdapter) -> None:
        self.adapter = adapter

    def post_digest(self, route: Route, view: DigestView) -> None:
        lines: tuple[Line, ...] = (
            (view.headline,),
            *view.summary,
            (view.table,),
            ("Top mentions:",),
            *view.top,
            ("Open complaints:",),
            *view.open_complaints,
            *view.people,
        )
        self.adapter.post_note(route, lines, None)

    def post_spike(self, route: Route, view: SpikeView) -> None:
        phrases = ", ".join(f"“{p}” × {n}" for p, n in view.phrases) or "none"
        lines: tuple[Line, ...] = (
            (view.headline,),
            *view.summary,
            *view.top,
            (f"Common phrases: {phrases}",),
        )
        self.adapter.post_note(route, lines, None)


def senders(adapters: Mapping[str, ChatAdapter]) -> dict[str, NoteSender]:
    out: dict[str, NoteSender] = {}
    for platform, adapter in adapters.items():
        if platform == "slack" and type(adapter).__name__ == "SlackAdapter":
            from bot.chat.slack.team import SlackTeamSender

            out[platform] = SlackTeamSender(adapter)  # type: ignore[assignment,arg-type]
        elif platform == "teams" and type(adapter).__name__ == "TeamsAdapter":
            from bot.chat.teams.team import TeamsTeamSender

            out[platform] = TeamsTeamSender(adapter)  # type: ignore[assignment,arg-type]
        else:
            out[platform] = NoteSender(adapter)
    return out


def build_team(
    store: Store,
    policies: Policies,
    service: ChatService,
    adapters: Mapping[str, ChatAdapter],
    watch: WatchList,
    clock: Callable[[], datetime],
    reach_sources: Mapping[str, ReachSource] | None = None,
) -> TeamScheduler:
    chosen = senders(adapters)
    terms = {b.name: b.terms for b in watch.brand}
    return TeamScheduler(
        [
            Reminders(store, policies, service.redraw),
            Digests(store, policies, chosen, clock),
            Spikes(store, policies, chosen, clock, terms=terms),
            Spread(store, reach_sources or {}, service.redraw),
        ],
        clock,
    )

"""Assembles the team workflow's scheduled jobs (the runtime starts their loop)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.chat.service import ChatService
from bot.store.base import Store
from bot.team.policy import Policies
from bot.team.reminders import Reminders
from bot.team.scheduler import TeamScheduler


def build_team(
    store: Store, policies: Policies, service: ChatService, clock: Callable[[], datetime]
) -> TeamScheduler:
    return TeamScheduler([Reminders(store, policies, service.redraw)], clock)

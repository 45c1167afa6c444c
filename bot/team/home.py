"""A person's home in the chat (Slack's App Home, a Teams personal chat): what they hold,
the open queue, and the week's response-time figures, with the same buttons as the alerts.
Neutral: `build_home` returns a HomeView each platform renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot import workflow
from bot.chat.service import ChatService
from bot.chat.views import AlertView, Line
from bot.models import Status
from bot.store.base import MentionQuery
from bot.team.figures import compute
from bot.team.reports import figures_table, people_lines
from bot.team.spread import PRIORITY_WINDOW, spreading_first

SHOWN = 5  # alerts per list: a home is a glance, the channel has the rest
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class HomeView:
    user: str
    headline: str
    mine: tuple[AlertView, ...]
    queue: tuple[AlertView, ...]
    table: str
    people: tuple[Line, ...]


def build_home(service: ChatService, user: str) -> HomeView:
    store, now = service.store, service.clock()
    mine = store.find_mentions(
        MentionQuery(owner=user, statuses=(Status.CLAIMED, Status.REPLIED), limit=SHOWN)
    )
    queue = spreading_first(
        store,
        store.find_mentions(
            MentionQuery(statuses=workflow.OPEN, flagged_only=True, limit=PRIORITY_WINDOW)
        ),
        SHOWN,
    )
    until = now + timedelta(seconds=1)  # what came this second counts
    rows = store.workflow_rows(now - WEEK, until)
    fig = compute(rows, now - WEEK, until, lambda b: service.policies(b).targets)
    return HomeView(
        user=user,
        headline="📣 mentionbot — your mentions",
        mine=tuple(service.view(m) for m in mine),
        queue=tuple(service.view(m) for m in queue),
        table=figures_table(fig),
        people=people_lines(fig),
    )

"""Answers to the `mentions` commands, for every platform (neutral data; see commands.py).

Listings, details and stats in a channel cover the brands routed to that channel; admins see
every brand, and the answer says so. `mine` covers whatever the person holds.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot import workflow
from bot.chat.commands import (
    LIST_LIMIT,
    Answer,
    Command,
    Detail,
    Listing,
    MentionLine,
    TextAnswer,
    parse_command,
)
from bot.chat.text import duration
from bot.chat.views import Person, alert_view, people_in
from bot.models import Mention, Status
from bot.status import format_table, gather_status
from bot.store.base import MentionQuery
from bot.team.commands import answer_team, parse_team_command
from bot.team.spread import PRIORITY_WINDOW, spreading_first
from bot.workflow import Action

if TYPE_CHECKING:
    from bot.chat.service import Actor, ChatService

log = logging.getLogger(__name__)


def answer_command(
    service: ChatService, actor: Actor, platform: str, channel_id: str, text: str
) -> Answer:
    if service.allowed_channels and channel_id not in service.allowed_channels:
        return TextAnswer((("This command works only in the channels set in ALLOWED_CHANNELS.",),))
    team = parse_team_command(text)
    if team is not None:  # mute, mutes, unmute, stats, export (bot/team/commands.py)
        log.debug("command %s from %s", team.name, actor.key[:40])
        return answer_team(service, actor, _Scope(service, actor, platform, channel_id), team)  # type: ignore[return-value]
    cmd = parse_command(text)
    # Never the whole text in a log: it is the user's, and may be huge.
    log.debug("command %s from %s", cmd.name, actor.key[:40])
    if cmd.name == "help":
        return TextAnswer(((cmd.error,),) if cmd.error else (), usage=True)
    scope = _Scope(service, actor, platform, channel_id)
    store, now = service.store, service.clock()
    if cmd.name == "mine":
        query = MentionQuery(
            owner=actor.key, statuses=(Status.CLAIMED, Status.REPLIED), limit=LIST_LIMIT
        )
        return _listing(service, "Yours (claimed or replied)", store.find_mentions(query), "")
    if cmd.name == "status":
        return TextAnswer((("Sources",),), preformatted=format_table(gather_status(store, now)))
    if cmd.name in ("open", "search", "stats", "show") and scope.brands == ():
        return TextAnswer((scope.nothing_here(),))
    if cmd.name == "open":
        query = MentionQuery(
            statuses=workflow.OPEN, flagged_only=True, brands=scope.brands, limit=PRIORITY_WINDOW
        )
        found = spreading_first(store, store.find_mentions(query), LIST_LIMIT)
        return _listing(service, "Open alerts (nobody owns them yet)", found, scope.note())
    if cmd.name == "search":
        query = MentionQuery(
            words=cmd.words,
            source=cmd.source,
            sentiment=cmd.sentiment,
            since=now - cmd.since if cmd.since else None,
            brands=scope.brands,
            limit=LIST_LIMIT,
        )
        return _listing(service, "Search results", store.find_mentions(query), scope.note())
    if cmd.name == "stats":
        return _stats(service, cmd, scope)
    assert cmd.mention_id is not None
    mention = store.get_mention(cmd.mention_id)
    if mention is None or not (scope.covers(mention) or mention.owner == actor.key):
        return TextAnswer(((f"There is no mention #{cmd.mention_id} here.",),))
    if cmd.name == "show":
        return _detail(service, mention, scope.note())
    action = Action.CLAIM if cmd.name == "claim" else Action.RESOLVE
    reaction = service.on_action(actor, action, cmd.mention_id, None)
    told = reaction.tell or _done(action)
    return TextAnswer(((f"#{cmd.mention_id}: ", *told),))


class _Scope:
    """Which brands a command may show: those routed to the channel; all for an admin."""

    def __init__(self, service: ChatService, actor: Actor, platform: str, channel_id: str):
        self.admin = actor.key in service.admins
        self.here = service.brands_here(platform, channel_id)
        self.brands: tuple[str, ...] | None = None if self.admin else tuple(self.here)

    def covers(self, mention: Mention) -> bool:
        if self.brands is None:
            return True
        return mention.brand.lower() in {b.lower() for b in self.brands}

    def note(self) -> str:
        if self.admin:
            return "all brands (you are an admin)"
        return ", ".join(self.here) + " (routed to this channel)"

    def nothing_here(self) -> tuple[str]:
        return (
            "No brand sends its alerts to this channel, so there is nothing to show here. "
            "Ask in a channel that gets alerts, or use “mine”.",
        )


Scope = _Scope  # for the team's commands (bot/team/commands.py)


def _listing(service: ChatService, title: str, mentions: list[Mention], scope: str) -> Listing:
    names = service.store.names(m.owner for m in mentions if m.owner)
    items = tuple(
        MentionLine(
            mention_id=m.id or 0,
            brand=m.brand,
            sentiment=m.verdict.sentiment.value,
            score=m.verdict.score,
            source=m.source,
            title=m.title or m.text or "(untitled)",
            url=m.url,
            status=m.status.value,
            owner=(Person(m.owner, names.get(m.owner, "")),) if m.owner else (),
            at=m.published_at or m.fetched_at,
        )
        for m in mentions
    )
    return Listing(title, items, more=len(items) >= LIST_LIMIT, scope=scope)


def _detail(service: ChatService, mention: Mention, scope: str) -> Detail:
    assert mention.id is not None
    store = service.store
    history = store.history(mention.id)
    replies = store.replies(mention.id)
    names = store.names(people_in(mention, history, replies))
    view = alert_view(mention, history, replies, names)
    return Detail(view, tuple(history[-30:]), names, scope)


def _stats(service: ChatService, cmd: Command, scope: _Scope) -> TextAnswer:
    since: timedelta | None = cmd.since
    now = service.clock()
    stats = service.store.stats(now - since if since else None, brands=scope.brands)
    period = f"last {duration(since.total_seconds())}" if since else "all time"
    by_sentiment = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_sentiment.items())) or "none"
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_status.items())) or "none"

    def median(value: float | None) -> str:
        return duration(value) if value is not None else "n/a"

    return TextAnswer(
        (
            (f"Mentions, {period}: {stats.total} — {scope.note()}",),
            (f"• by sentiment: {by_sentiment}",),
            (f"• by status: {by_status}",),
            (f"• median time to claim: {median(stats.median_seconds_to_claim)}",),
            (f"• median time to resolve: {median(stats.median_seconds_to_resolve)}",),
        )
    )


def _done(action: Action) -> tuple[str]:
    return ("You claimed this mention." if action == Action.CLAIM else "Marked resolved.",)

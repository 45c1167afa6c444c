"""Spread: how far an open alert has gone, where its source says (points, comments, boosts),
refreshed while the alert is open; a fast climb raises its priority and says "this is
spreading" in its thread, once.

A source that can tell offers `reach(external_ids) -> {external_id: value}` (Hacker News:
points plus comments; Mastodon: boosts, favourites and replies, asked of the instance read;
Reddit: score plus comments); the job asks it every REFRESH for the open alerts it gave, keeps
each answer as a sample, and compares the newest with where the mention stood an hour before
(or when first seen, if younger). Climbing to at least MIN_REACH, by at least MIN_GAIN and to
at least CLIMB times the earlier value, is spreading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.chat.text import duration
from bot.models import Mention, Status
from bot.store.base import NoticeDraft, Store

log = logging.getLogger(__name__)

REFRESH = timedelta(minutes=10)
WINDOW = timedelta(hours=1)
MIN_REACH = 50
MIN_GAIN = 30
CLIMB = 3.0
OPEN = (Status.ALERTED, Status.CLAIMED, Status.REPLIED)
PRIORITY_WINDOW = 200  # open alerts a listing looks through for the spreading ones


class ReachSource(Protocol):
    def reach(self, external_ids: Sequence[str]) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class Climb:
    before: int
    now: int
    over: timedelta

    @property
    def spreading(self) -> bool:
        gain = self.now - self.before
        return self.now >= MIN_REACH and gain >= MIN_GAIN and self.now >= CLIMB * self.before


def climb(samples: Sequence[tuple[datetime, int]]) -> Climb | None:
    """The newest sample against the one an hour before it (or the first, if younger)."""
    if len(samples) < 2:
        return None
    latest_at, latest = samples[-1]
    earlier = [s for s in samples if s[0] <= latest_at - WINDOW]
    base_at, base = earlier[-1] if earlier else samples[0]
    return Climb(base, latest, latest_at - base_at)


def spreading_key(mention_id: int) -> str:
    return f"m{mention_id}:spreading"


def spreading_first(store: Store, mentions: Sequence[Mention], limit: int) -> list[Mention]:
    """The priority a fast climb gives: spreading mentions ahead of the rest, each group in
    its own order, cut to `limit`."""
    spreading = {m.id for m in mentions if m.id and store.done_once(spreading_key(m.id))}
    return sorted(mentions, key=lambda m: m.id not in spreading)[:limit]


class Spread:
    def __init__(
        self,
        store: Store,
        sources: Mapping[str, ReachSource],
        redraw: Callable[[int], object],
    ) -> None:
        self.store = store
        self.sources = dict(sources)
        self.redraw = redraw

    def run_due(self, now: datetime) -> int:
        """Refresh what is due; returns how many alerts were found spreading."""
        due: dict[str, list[Mention]] = {}
        for mention in self.store.open_alerts():
            if mention.source not in self.sources or mention.id is None:
                continue
            history = self.store.reach_history(mention.id)
            if history and now - history[-1][0] < REFRESH:
                continue
            due.setdefault(mention.source, []).append(mention)
        found = 0
        for source, mentions in due.items():
            try:
                values = self.sources[source].reach([m.external_id for m in mentions])
            except Exception:  # a source's outage must not stop the other sources' refresh
                log.exception("reach refresh from %s failed", source)
                continue
            for mention in mentions:
                value = values.get(mention.external_id)
                if value is None or mention.id is None:
                    continue
                self.store.record_reach(mention.id, value, at=now)
                changed = self._check(mention, now)
                found += changed
                self.redraw(mention.id)  # the alert shows the new reach
        return found

    def _check(self, mention: Mention, now: datetime) -> bool:
        assert mention.id is not None
        c = climb(self.store.reach_history(mention.id))
        if c is None or not c.spreading:
            return False
        text = (
            f"📣 This is spreading: reach {c.before} → {c.now} in "
            f"{duration(c.over.total_seconds())} on {mention.source}. It is now a priority."
        )
        posted = [d for d in self.store.deliveries(mention.id) if d.message_id]
        seen, notes = set(), []
        for d in posted:
            if d.route not in seen:
                seen.add(d.route)
                notes.append(NoticeDraft(d.route, text, thread_of=d.id))
        won = self.store.once(
            spreading_key(mention.id),
            at=now,
            mention_id=mention.id,
            while_status=OPEN,
            notices=notes,
        )
        if won:
            log.info("mention %d is spreading (%d → %d)", mention.id, c.before, c.now)
        return won

"""What the volume bounds held back, told once: the pipeline (bot/pipeline.py) stores the
mentions over a bound without alerts and records them; `summarise` turns the records into one
plain-text notice per brand and channel ("312 more mentions of Acme in the last minute from
news.example.com ..."), with the search that lists them; `hand_off_held_back` takes the
records not yet told, exactly once across replicas, and posts their notices.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.base import HeldBack, Store

log = logging.getLogger(__name__)

SETTLE = timedelta(minutes=1)  # a burst is told once it is a minute old, in one notice
COMMAND = "/mentions"
MAX_HOSTS = 2  # sites named in a notice; the rest are counted
MAX_SEARCHES = 3  # sources given a search of their own; the rest are counted


@dataclass(frozen=True, slots=True)
class Notice:
    """A summary for a brand's channel: plain text, no chat markup."""

    channel: str
    brand: str
    text: str
    record_ids: tuple[int, ...]


def summarise(records: Sequence[HeldBack], now: datetime) -> list[Notice]:
    """One notice per brand and channel among `records`: how many mentions, over what
    window, from which sites, why they were held back, and how to find them."""
    groups: dict[tuple[str, str], list[HeldBack]] = {}
    for record in records:
        groups.setdefault((record.brand, record.channel), []).append(record)
    notices = []
    for (brand, channel), group in groups.items():
        total = sum(r.mentions for r in group)
        hosts: Counter[str] = Counter()
        for r in group:
            hosts.update(r.hosts)
        sources = list(dict.fromkeys(r.source for r in sorted(group, key=lambda r: -r.mentions)))
        since = min(r.first_at for r in group)
        text = (
            f"{total:,} more mention{'' if total == 1 else 's'} of {brand} {_window(since, now)}"
            f"{_from(hosts)} were stored without an alert ({_why(brand, group)}). "
            f"{_searches(sources, since, now)}"
        )
        notices.append(Notice(channel, brand, text, tuple(r.id for r in group)))
    return notices


def hand_off_held_back(
    store: Store,
    post_notice: Callable[[str, str], object],
    now: datetime,
    *,
    settle: timedelta = SETTLE,
) -> list[Notice]:
    """Take the held-back records due (each exactly once, whatever the replicas) and post
    one notice per brand and channel with `post_notice(channel, text)`. A notice that
    cannot be posted gives its records back, to be told next time."""
    records = store.take_held_back(now=now, settle=settle)
    told = []
    for notice in summarise(records, now):
        try:
            post_notice(notice.channel, notice.text)
        except Exception as exc:  # a chat outage: the records wait for the next try
            log.warning("could not post the held-back summary for %s: %s", notice.brand, exc)
            store.release_held_back(notice.record_ids)
            continue
        told.append(notice)
    return told


def _window(since: datetime, now: datetime) -> str:
    seconds = max(0.0, (now - since).total_seconds())
    if seconds <= 90:
        return "in the last minute"
    if seconds < 3600:
        return f"in the last {round(seconds / 60)} minutes"
    if seconds < 86400:
        hours = round(seconds / 3600)
        return f"in the last {hours} hour{'' if hours == 1 else 's'}"
    return f"since {since:%Y-%m-%d %H:%M} UTC"


def _from(hosts: Counter[str]) -> str:
    named = [host for host, _ in hosts.most_common(MAX_HOSTS)]
    if not named:
        return ""
    others = len(hosts) - len(named)
    if others:
        return f" from {', '.join(named)} and {others} other site{'' if others == 1 else 's'}"
    return " from " + " and ".join(named)


def _why(brand: str, group: Sequence[HeldBack]) -> str:
    reasons = []
    per_poll = [r.limit for r in group if r.reason == "per_poll"]
    per_minute = [r.limit for r in group if r.reason == "per_minute"]
    if per_poll:
        reasons.append(f"more than {max(per_poll):,} new in one poll of a source")
    if per_minute:
        reasons.append(f"over {max(per_minute):,} alerts a minute for {brand}")
    if any(r.reason == "spike" for r in group):
        reasons.append(f"a spike alert for {brand} covers them")
    return " and ".join(reasons)


def _searches(sources: list[str], since: datetime, now: datetime) -> str:
    """The /mentions searches that list them: one per source, over the window."""
    period = _period(now - since)
    shown = [f"{COMMAND} search source:{s} since:{period}" for s in sources[:MAX_SEARCHES]]
    more = len(sources) - len(shown)
    text = "To see them: " + "; ".join(shown)
    if more:
        text += f" (and {more} other source{'' if more == 1 else 's'})"
    return text + "."


def _period(span: timedelta) -> str:
    """A `since:` period covering `span` and a little more, in whole hours or days."""
    hours = int(span.total_seconds() // 3600) + 1
    return f"{hours}h" if hours < 48 else f"{hours // 24 + 1}d"

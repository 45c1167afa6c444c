"""Operational notices: a source that has failed for a long time is told to the ops channel
once per failure streak (the store remembers), however many polls keep failing. The notice is
queued like an alert (the outbox sends it): the poll loop never waits for a chat platform."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.models import Route
from bot.status import duration
from bot.store.base import Store

log = logging.getLogger(__name__)

FAILING_FOR = timedelta(hours=1)


def notify_failing_sources(
    store: Store, route: Route, now: datetime, *, after: timedelta = FAILING_FOR
) -> list[str]:
    """Queue one notice per source failing for longer than `after`; return their names."""
    told = []
    for status in store.source_statuses():
        if status.failing_since is None or status.ops_alerted_at is not None:
            continue
        if now - status.failing_since < after:
            continue
        text = (
            f"Source {status.source} has failed for "
            f"{duration((now - status.failing_since).total_seconds())} "
            f"({status.consecutive_failures} polls in a row). Last error: {status.last_error}. "
            "Its mentions are not being collected until it recovers; `mentionbot status` "
            "shows every source."
        )
        store.add_notice(route, text, at=now)
        store.mark_ops_alerted(status.source, at=now)
        told.append(status.source)
    return told

"""The team workflow's clock: one background loop that runs every due job (reminders,
escalations, digests, spike checks, reach refreshes) with an injected clock.

Each job is an object with `run_due(now)`; tests call those directly with the time they
choose. The loop here only repeats them, and a failing job is logged without stopping the
others. Running it on every replica is safe: each job decides what to send with
`Store.once`, so one replica sends and the others find it done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.chat.port import DeliveryError
from bot.models import Route
from bot.store.base import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # targets and reminders are minutes apart: half a minute is on time


class Job(Protocol):
    def run_due(self, now: datetime) -> object: ...


class TeamScheduler:
    def __init__(self, jobs: Sequence[Job], clock: Callable[[], datetime]) -> None:
        self.jobs = list(jobs)
        self.clock = clock

    def run_due(self, now: datetime | None = None) -> list[object]:
        now = now or self.clock()
        reports = []
        for job in self.jobs:
            try:
                reports.append(job.run_due(now))
            except Exception:  # the database restarting, say: the next tick tries again
                log.exception("%s failed; retrying next tick", type(job).__name__)
                reports.append(None)
        return reports

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Tick until `stop`; `wake` is set when something was queued for the outbox."""
        while not stop.is_set():
            reports = self.run_due()
            if wake is not None and any(reports):
                wake.set()
            stop.wait(TICK_SECONDS)


def send_or_queue(
    store: Store,
    senders: Mapping[str, Any],
    route: Route,
    method: str,
    view: object,
    fallback: str,
    at: datetime,
) -> bool:
    """Post a digest or spike view with its platform's sender (`method`: "post_digest",
    "post_spike"); if that fails, queue `fallback` as a notice so the outbox retries it.
    True when it was posted now."""
    sender = senders.get(route.platform)
    try:
        if sender is None:
            raise DeliveryError(f"no sender for {route.platform}", permanent=True)
        getattr(sender, method)(route, view)
        return True
    except DeliveryError as exc:
        log.warning("%s to %s failed (%s); queued as text", method, route.key, exc)
        store.add_notice(route, fallback, at=at)
        return False

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
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

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

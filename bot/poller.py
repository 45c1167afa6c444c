"""The schedule: which source is polled when, failure backoff, and per-source health.

Sources run concurrently in a small thread pool, so one slow or failing feed never holds up
the others; a feed's state (ETag, Last-Modified) is saved only after its entries are stored,
so a restart in the middle of a poll fetches them again and dedup keeps each exactly once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import metrics
from bot.pipeline import BrandRule, Pipeline, PipelineReport
from bot.sources.base import Source, SourceError, limits_of
from bot.store.base import Store

log = logging.getLogger(__name__)

MAX_FAILURE_BACKOFF_SECONDS = 3600.0


@dataclass(slots=True)
class SourceHealth:
    interval: float  # the current, learned interval
    last_success: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    polls: int = 0
    errors: int = 0
    items_seen: int = 0
    next_due: datetime | None = None
    last_ids: frozenset[str] = frozenset()  # what the feed held last time, to see change


@dataclass(frozen=True, slots=True)
class Job:
    brand: BrandRule
    source: Source
    interval: float


@dataclass(slots=True)
class PollReport:
    polled: int = 0
    skipped: int = 0  # another replica holds the feed
    failed: int = 0
    not_modified: int = 0
    pipeline: PipelineReport = field(default_factory=PipelineReport)


class Poller:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        jobs: Sequence[Job],
        clock: Callable[[], datetime],
        *,
        workers: int = 8,
        rng: random.Random | None = None,
        holder: str = "",
        lease_seconds: float = 300.0,
        min_interval: float = 60.0,
        max_interval: float = 1800.0,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.jobs = list(jobs)
        self.clock = clock
        self.workers = max(1, min(workers, len(self.jobs) or 1))
        self._rng = rng or random.Random()
        self.holder = holder or default_holder()
        # How long we may hold a feed while polling it; if we die, another replica takes over.
        self.lease_seconds = lease_seconds
        self.min_interval = min(min_interval, max_interval)
        self.max_interval = max_interval
        self._lock = threading.Lock()
        self.health: dict[str, SourceHealth] = {
            job.source.name: SourceHealth(interval=job.interval) for job in self.jobs
        }

    def poll_once(self, jobs: Sequence[Job] | None = None) -> PollReport:
        """Poll the given jobs (default: all) concurrently and wait for every one."""
        chosen = list(self.jobs if jobs is None else jobs)
        report = PollReport()
        if not chosen:
            return report
        with ThreadPoolExecutor(self.workers, thread_name_prefix="poll") as pool:
            for outcome in pool.map(self._poll_job, chosen):
                if outcome == "skipped":
                    report.skipped += 1
                    continue
                report.polled += 1
                if outcome is None:
                    report.failed += 1
                elif outcome == "not_modified":
                    report.not_modified += 1
                else:
                    report.pipeline.add(outcome)
        return report

    def due_jobs(self, now: datetime) -> list[Job]:
        return [
            j
            for j in self.jobs
            if (due := self.health[j.source.name].next_due) is None or due <= now
        ]

    def seconds_until_next(self, now: datetime) -> float:
        dues = [h.next_due for h in self.health.values() if h.next_due is not None]
        if len(dues) < len(self.health):
            return 0.0
        return max(0.0, min((d - now).total_seconds() for d in dues))

    def _poll_job(self, job: Job) -> PipelineReport | str | None:
        name = job.source.name
        health = self.health[name]
        started = self.clock()
        try:
            leased = self.store.lease_feed(
                name,
                holder=self.holder,
                now=started,
                until=started + timedelta(seconds=self.lease_seconds),
            )
        except Exception as exc:  # the database is away: try again soon, like any failure
            self._failed(job, health, started, f"cannot lease: {exc}", permanent=False)
            return None
        if not leased:
            # Another replica is polling it or polled it recently; look again a bit later.
            with self._lock:
                health.next_due = started + timedelta(seconds=max(5.0, job.interval / 10))
            return "skipped"
        try:
            state = self.store.feed_state(name)
            result = job.source.fetch(state)
            report = (
                None if result.not_modified else self.pipeline.process(job.brand, result.entries)
            )
            self.store.save_feed_state(name, result.state, at=self.clock())
        except SourceError as exc:
            self._failed(job, health, started, str(exc), permanent=exc.permanent)
            return None
        except Exception as exc:  # a bug or a database hiccup in one source never stops the rest
            log.exception("source %s: unexpected error", name)
            self._failed(job, health, started, f"{type(exc).__name__}: {exc}", permanent=False)
            return None
        with self._lock:
            health.polls += 1
            health.last_success = self.clock()
            health.consecutive_failures = 0
            health.items_seen += len(result.entries)
            ids = frozenset(e.external_id for e in result.entries)
            changed = not result.not_modified and bool(ids - health.last_ids)
            if not result.not_modified:
                health.last_ids = ids
            health.interval = self._adapt(job, health.interval, changed)
            wait = max(self._jitter(health.interval), result.min_wait or 0.0)
            health.next_due = started + timedelta(seconds=wait)
        metrics.POLLS.labels(name, "not_modified" if report is None else "ok").inc()
        metrics.ENTRIES.labels(name).inc(len(result.entries))
        self._record(name, health.interval, items=len(result.entries))
        self._release(name, health.next_due)
        return "not_modified" if report is None else report

    def _failed(
        self, job: Job, health: SourceHealth, started: datetime, error: str, *, permanent: bool
    ) -> None:
        with self._lock:
            health.polls += 1
            health.errors += 1
            health.consecutive_failures += 1
            health.last_error = error
            health.last_error_at = self.clock()
            backoff = min(
                MAX_FAILURE_BACKOFF_SECONDS,
                job.interval * (2 ** min(health.consecutive_failures - 1, 10)),
            )
            if permanent:
                backoff = max(backoff, min(MAX_FAILURE_BACKOFF_SECONDS, job.interval * 4))
            health.next_due = started + timedelta(seconds=self._jitter(backoff))
        metrics.POLLS.labels(job.source.name, "error").inc()
        self._record(job.source.name, job.interval, error=error)
        self._release(job.source.name, health.next_due)
        log.warning(
            "source %s failed (%s, %d in a row): %s; next try in %.0f s",
            job.source.name, "permanent" if permanent else "transient",
            health.consecutive_failures, error, (health.next_due - started).total_seconds(),
        )  # fmt: skip

    def _adapt(self, job: Job, interval: float, changed: bool) -> float:
        """A feed that changed is polled twice as often next time, one that did not a
        quarter less often, within [min_interval, max_interval]; so busy feeds are heard
        within seconds and quiet ones are not hammered. The first poll counts as a change."""
        # A platform's floor (limits.min_interval) wins over our own minimum: never rude.
        low = max(min(self.min_interval, job.interval), limits_of(job.source).min_interval)
        high = max(self.max_interval, job.interval)
        return max(low, interval / 2) if changed else min(high, interval * 1.25)

    def _record(self, name: str, interval: float, *, items: int = 0, error: str = "") -> None:
        try:
            self.store.record_poll(
                name, at=self.clock(), interval=interval, items=items, error=error
            )
        except Exception:  # health is bookkeeping: never let it fail a poll
            log.warning("source %s: could not record its health", name, exc_info=True)

    def _release(self, name: str, next_due: datetime) -> None:
        try:
            self.store.release_feed(name, holder=self.holder, next_due=next_due)
        except Exception:  # the lease simply expires; nothing is lost
            log.warning("source %s: could not release the poll lease", name, exc_info=True)

    def _jitter(self, seconds: float) -> float:
        # Up to 10% early, so feeds configured alike drift apart instead of polling in bursts.
        return seconds * self._rng.uniform(0.9, 1.0)


def default_holder() -> str:
    """A name for this replica that differs between processes and machines."""
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"

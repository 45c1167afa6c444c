"""The schedule: which source is polled when, failure backoff, and per-source health.

Feeds are polled from one event loop (bot/http_async.py: keep-alive, HTTP/2 where offered, a
bound per host); sources that only have a sync `fetch` run in a small thread pool beside it,
as does the pipeline, so scoring never stalls the fetches. Store work is batched: leases and
states for a batch of feeds in one transaction, then state, health and lease release of the
finished polls in another. A feed's state is saved only after its entries are stored, so a
restart in the middle of a poll fetches them again and dedup keeps each exactly once. Leases
are taken a batch at a time as the workers run out of feeds (not for a whole round at once),
so replicas never poll one feed at once unless a poll outlives its lease (POLL_LEASE_SECONDS);
even then dedup keeps every entry once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.pipeline import BrandRule, Pipeline, PipelineReport
from bot.sources.base import FeedState, FetchResult, Source, SourceError, limits_of
from bot.store.base import PollRecord, Store

log = logging.getLogger(__name__)

MAX_FAILURE_BACKOFF_SECONDS = 3600.0
# A server's Retry-After is obeyed up to this; a longer one is a misconfiguration.
MAX_RETRY_AFTER_SECONDS = 6 * 3600.0


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
        concurrency: int = 256,
        batch: int = 256,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.jobs = list(jobs)
        self.clock = clock
        # Threads for sync sources and the pipeline; `concurrency` polls in flight in all.
        self.workers = max(1, min(workers, len(self.jobs) or 1))
        self.concurrency = max(1, concurrency)
        self.batch = max(1, batch)
        self._rng = rng or random.Random()
        self.holder = holder or default_holder()
        # How long we may hold a feed while polling it; if we die, another replica takes over.
        self.lease_seconds = lease_seconds
        self.min_interval = min(min_interval, max_interval)
        self.max_interval = max_interval
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._counters: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.health: dict[str, SourceHealth] = {
            job.source.name: SourceHealth(interval=job.interval) for job in self.jobs
        }

    def poll_once(self, jobs: Sequence[Job] | None = None) -> PollReport:
        """Poll the given jobs (default: all) concurrently and wait for every one."""
        chosen = list(self.jobs if jobs is None else jobs)
        if not chosen:
            return PollReport()
        if self._loop is None:  # one loop for the poller's life: connections are kept
            self._loop = asyncio.new_event_loop()
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="poll")
        return self._loop.run_until_complete(self._round(chosen))

    def close(self) -> None:
        """Stop the loop and the threads. Close the HttpFetcher first: it closes its async
        clients on this loop."""
        if self._threads is not None:
            self._threads.shutdown(wait=True)
        if self._loop is not None:
            self._loop.close()
        self._loop = self._threads = None

    def due_jobs(self, now: datetime) -> list[Job]:
        return [
            j
            for j in self.jobs
            if (due := self.health[j.source.name].next_due) is None or due <= now
        ]

    def seconds_until_next(self, now: datetime) -> float:
        if not self.health:  # only streamed sources: nothing to poll, ever
            return 3600.0
        dues = [h.next_due for h in self.health.values() if h.next_due is not None]
        if len(dues) < len(self.health):
            return 0.0
        return max(0.0, min((d - now).total_seconds() for d in dues))

    # --- one round ------------------------------------------------------------------------
    async def _round(self, jobs: list[Job]) -> PollReport:
        """`concurrency` workers take leased feeds from `ready`; when it runs dry, a worker
        leases the next batch. Finished polls are written back a batch at a time."""
        report = PollReport()
        pending, ready = deque(jobs), deque[tuple[Job, FeedState]]()
        finished: list[PollRecord] = []

        async def worker() -> None:
            while ready or pending:
                if not ready:
                    finished.extend(self._lease_next(pending, ready, report))
                    continue
                job, state = ready.popleft()
                finished.append(await self._poll(job, state, report))
                if len(finished) >= self.batch:
                    self._write(finished)

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(jobs)))))
        self._write(finished)
        return report

    def _lease_next(
        self,
        pending: deque[Job],
        ready: deque[tuple[Job, FeedState]],
        report: PollReport,
    ) -> list[PollRecord]:
        batch = [pending.popleft() for _ in range(min(self.batch, len(pending)))]
        now = self.clock()
        names = [job.source.name for job in batch]
        try:
            leased = self.store.lease_feeds(
                names,
                holder=self.holder,
                now=now,
                until=now + timedelta(seconds=self.lease_seconds),
            )
            states = self.store.feed_states([n for n in names if n in leased])
        except Exception as exc:  # the database is away: try again soon, like any failure
            report.polled += len(batch)
            report.failed += len(batch)
            return [self._failed(j, now, f"cannot lease: {exc}", permanent=False) for j in batch]
        for job in batch:
            name = job.source.name
            if name in leased:
                ready.append((job, states.get(name, FeedState())))
            else:  # another replica is polling it or polled it recently
                self._skipped(job, now, report)
        return []

    def _skipped(self, job: Job, now: datetime, report: PollReport) -> None:
        # Another replica holds it; look again a bit later.
        report.skipped += 1
        with self._lock:
            health = self.health[job.source.name]
            health.next_due = now + timedelta(seconds=max(5.0, job.interval / 10))

    async def _poll(self, job: Job, state: FeedState, report: PollReport) -> PollRecord:
        started = self.clock()
        report.polled += 1
        loop = asyncio.get_running_loop()
        try:
            fetch_async = getattr(job.source, "fetch_async", None)
            if fetch_async is not None:
                result = await fetch_async(state)
                processed = None
                if not result.not_modified:
                    processed = await loop.run_in_executor(
                        self._threads, self.pipeline.process, job.brand, result.entries
                    )
            else:  # a sync source: fetch and process in a thread
                result, processed = await loop.run_in_executor(
                    self._threads, self._fetch_sync, job, state
                )
        except SourceError as exc:
            report.failed += 1
            return self._failed(
                job, started, str(exc), permanent=exc.permanent, retry_after=exc.retry_after
            )
        except Exception as exc:  # a bug or a database hiccup in one source never stops the rest
            log.exception("source %s: unexpected error", job.source.name)
            report.failed += 1
            return self._failed(job, started, f"{type(exc).__name__}: {exc}", permanent=False)
        if processed is None:
            report.not_modified += 1
        else:
            report.pipeline.add(processed)
        return self._succeeded(job, started, state, result)

    def _fetch_sync(self, job: Job, state: FeedState) -> tuple[FetchResult, PipelineReport | None]:
        result = job.source.fetch(state)
        if result.not_modified:
            return result, None
        return result, self.pipeline.process(job.brand, result.entries)

    def _succeeded(
        self, job: Job, started: datetime, state: FeedState, result: FetchResult
    ) -> PollRecord:
        name = job.source.name
        health = self.health[name]
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
        self._count(name, "not_modified" if result.not_modified else "ok", len(result.entries))
        return PollRecord(
            name,
            at=self.clock(),
            interval=health.interval,
            next_due=health.next_due,
            items=len(result.entries),
            # Saved once this poll's entries are stored (they are, by now); an unchanged
            # state (a 304) needs no write.
            state=None if result.state == state else result.state,
        )

    def _failed(
        self,
        job: Job,
        started: datetime,
        error: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
    ) -> PollRecord:
        health = self.health[job.source.name]
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
            wait = self._jitter(backoff)
            if retry_after is not None:  # 429/503 with Retry-After: not a second sooner
                wait = max(wait, min(retry_after, MAX_RETRY_AFTER_SECONDS))
            health.next_due = started + timedelta(seconds=wait)
        self._count(job.source.name, "error")
        log.warning(
            "source %s failed (%s, %d in a row): %s; next try in %.0f s",
            job.source.name, "permanent" if permanent else "transient",
            health.consecutive_failures, error, wait,
        )  # fmt: skip
        return PollRecord(
            job.source.name, at=self.clock(), interval=job.interval, next_due=health.next_due,
            error=error,
        )  # fmt: skip

    def _count(self, name: str, outcome: str, entries: int = 0) -> None:
        # The labelled children are looked up once per source: labels() costs more than a 304.
        counters = self._counters.get((name, outcome))
        if counters is None:
            counters = self._counters[(name, outcome)] = (
                metrics.POLLS.labels(name, outcome),
                metrics.ENTRIES.labels(name),
            )
        counters[0].inc()
        if entries:
            counters[1].inc(entries)

    def _write(self, finished: list[PollRecord]) -> None:
        """Write back a batch of finished polls. If the database is away, their states are
        not saved (the feeds are fetched again, dedup drops the repeats) and their leases
        simply expire: nothing is lost."""
        records = finished[:]
        finished.clear()
        if records:
            finish_polls(self.store, records, self.holder)

    def _adapt(self, job: Job, interval: float, changed: bool) -> float:
        """A feed that changed is polled twice as often next time, one that did not a
        quarter less often, within [min_interval, max_interval]; so busy feeds are heard
        within seconds and quiet ones are not hammered. The first poll counts as a change."""
        # A platform's floor (limits.min_interval) wins over our own minimum: never rude.
        low = max(min(self.min_interval, job.interval), limits_of(job.source).min_interval)
        high = max(self.max_interval, job.interval)
        return max(low, interval / 2) if changed else min(high, interval * 1.25)

    def _jitter(self, seconds: float) -> float:
        # Up to 10% early, so feeds configured alike drift apart instead of polling in bursts.
        return seconds * self._rng.uniform(0.9, 1.0)


def default_holder() -> str:
    """A name for this replica that differs between processes and machines."""
    return f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"


def finish_polls(store: Store, records: list[PollRecord], holder: str) -> None:
    """Write back finished polls in one transaction; if that fails, one by one, so a single
    bad record does not cost the others their health and released leases."""
    try:
        store.finish_polls(records, holder=holder)
        return
    except Exception:  # health is bookkeeping, a lease expires: never fail the round
        log.warning("could not write back %d polls; one by one", len(records), exc_info=True)
    for r in records:
        try:
            store.finish_polls([r], holder=holder)
        except Exception:
            log.warning("source %s: could not write back its poll", r.source, exc_info=True)

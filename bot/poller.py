"""The schedule: which source is polled when, failure backoff, and per-source health.

Every source is scheduled on its own: `start()` runs one event loop that starts each source's
poll as soon as it is due and lets it finish whenever it finishes, so a slow or failing source
delays nobody else (no round waits for its slowest poll). Feeds are fetched on that loop
(bot/http_async.py: keep-alive, a bound per host) and parsed off it (bot/sources/parse_pool.py);
sources that only have a sync `fetch`, and the pipeline, run in a small thread pool beside it.
The poller's own store work (leases, write-backs) runs on one store thread, so the loop never
waits for the database either.

Replicas share feeds through leases: a lease is taken a batch at a time as polls start, is
short (POLL_LEASE_SECONDS) and renewed every third of it while the poll runs, and is given
back on finishing with the time the feed is next due. A replica that dies mid-poll thus loses
its feeds within one lease, and another replica, which asked when that lease runs out, takes
them then. A feed's state is saved only after its entries are stored, so a poll cut short is
fetched again and dedup keeps each entry exactly once.

`poll_once()` polls a given set of sources once and waits for all of them (`mentionbot poll
--once`, the demo, tests and benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
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
from typing import Any, TypeVar

from bot import metrics
from bot.pipeline import BrandRule, Pipeline, PipelineReport
from bot.sources.base import FeedState, FetchResult, Source, SourceError, limits_of
from bot.store.base import PollRecord, Store

log = logging.getLogger(__name__)

MAX_FAILURE_BACKOFF_SECONDS = 3600.0
# A server's Retry-After is obeyed up to this; a longer one is a misconfiguration.
MAX_RETRY_AFTER_SECONDS = 6 * 3600.0
WRITE_EVERY = 0.25  # seconds a finished poll may wait to be written back with others
IDLE_TICK = 0.5  # the longest the schedule sleeps: how soon it notices `stop`

T = TypeVar("T")


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

    def add(self, other: PollReport) -> None:
        self.polled += other.polled
        self.skipped += other.skipped
        self.failed += other.failed
        self.not_modified += other.not_modified
        self.pipeline.add(other.pipeline)

    @property
    def all_failed(self) -> bool:
        """Every source polled failed, and at least one was polled (a report of a time when
        nothing was due, or every feed was another replica's, is not a failure)."""
        return self.polled > 0 and self.failed == self.polled


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
        lease_seconds: float = 15.0,
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
        # How long a lease lives unless renewed; renewed every third of it while polling.
        self.lease_seconds = lease_seconds
        self.min_interval = min(min_interval, max_interval)
        self.max_interval = max_interval
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._store_thread: ThreadPoolExecutor | None = None
        self._counters: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._in_flight: set[str] = set()
        self._report = PollReport()  # what `start()` has done since `take_report()`
        self._report_lock = threading.Lock()
        self._running: threading.Thread | None = None
        self.health: dict[str, SourceHealth] = {
            job.source.name: SourceHealth(interval=job.interval) for job in self.jobs
        }
        self._by_name = {job.source.name: job for job in self.jobs}
        # (when due, name) of every source, a heap; an entry whose time is no longer the
        # source's next_due is stale and skipped. None-due sources come first.
        self._due: list[tuple[float, str]] = [(float("-inf"), name) for name in self._by_name]

    # --- running ----------------------------------------------------------------------------
    def poll_once(self, jobs: Sequence[Job] | None = None) -> PollReport:
        """Poll the given jobs (default: all) now, concurrently, and wait for every one."""
        chosen = deque(self.jobs if jobs is None else jobs)
        report = PollReport()
        if not chosen:
            return report

        def take(limit: int) -> list[Job]:
            return [chosen.popleft() for _ in range(min(limit, len(chosen)))]

        self._ensure_loop()
        assert self._loop is not None
        self._loop.run_until_complete(self._schedule(take, lambda: not chosen, report.add))
        return report

    def start(
        self,
        stop: threading.Event,
        *,
        on_alerts: Callable[[], None] = lambda: None,
        grace: float = 5.0,
    ) -> None:
        """Poll every source whenever it is due, in a thread of its own, until `stop` (then
        up to `grace` seconds for the polls running). `on_alerts` is called as soon as a poll
        queued alerts; `take_report()` gives what was done since it was last called."""
        self._ensure_loop()

        def run() -> None:
            assert self._loop is not None
            try:
                self._loop.run_until_complete(
                    self._schedule(self._take_due, stop.is_set, self._record, on_alerts, grace)
                )
            except Exception:  # never silently: the runtime's poll loop notices and says so
                log.exception("the poll schedule stopped")

        self._running = threading.Thread(target=run, name="poll-schedule", daemon=True)
        self._running.start()

    def take_report(self) -> PollReport:
        """What `start()` has polled since the last call (then forgotten)."""
        with self._report_lock:
            report, self._report = self._report, PollReport()
        return report

    def _record(self, report: PollReport) -> None:
        with self._report_lock:
            self._report.add(report)

    def _take_due(self, limit: int) -> list[Job]:
        """Up to `limit` sources due now and not being polled, soonest due first."""
        now = self.clock().timestamp()
        picked: list[Job] = []
        with self._lock:
            while self._due and len(picked) < limit:
                when, name = self._due[0]
                if when > now:
                    break
                heapq.heappop(self._due)
                next_due = self.health[name].next_due
                current = next_due.timestamp() if next_due is not None else float("-inf")
                if when == current and name not in self._in_flight:
                    picked.append(self._by_name[name])
        return picked

    def _reschedule(self, name: str, when: datetime) -> None:
        """Set a source's next due time (under self._lock)."""
        self.health[name].next_due = when
        if name in self._by_name:
            heapq.heappush(self._due, (when.timestamp(), name))
            if len(self._due) > 4 * len(self._by_name) + 64:  # stale entries: start afresh
                self._due = [
                    (h.next_due.timestamp() if h.next_due else float("-inf"), n)
                    for n, h in self.health.items()
                    if n in self._by_name
                ]
                heapq.heapify(self._due)

    def join(self, timeout: float | None = None) -> None:
        if self._running is not None:
            self._running.join(timeout)

    def close(self) -> None:
        """Stop the loop and the threads. Close the HttpFetcher first: it closes its async
        clients on this loop."""
        for pool in (self._threads, self._store_thread):
            if pool is not None:
                pool.shutdown(wait=True)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()
        self._loop = self._threads = self._store_thread = None

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

    def _ensure_loop(self) -> None:
        if self._loop is None:  # one loop for the poller's life: connections are kept
            self._loop = asyncio.new_event_loop()
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="poll")
            self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="poll-store")

    # --- the schedule ----------------------------------------------------------------------
    async def _schedule(
        self,
        take: Callable[[int], list[Job]],
        done: Callable[[], bool],
        record: Callable[[PollReport], None],
        on_alerts: Callable[[], None] = lambda: None,
        grace: float | None = None,
    ) -> None:
        """Lease and start due jobs (`take(n)`: up to n of them) while fewer than
        `concurrency` polls run; write finished polls back in batches; renew the leases of
        running ones. Returns once `done()` and nothing runs (or `grace` seconds after
        `done()`, if given: the polls still running are then cut off)."""
        loop = asyncio.get_running_loop()
        running: set[asyncio.Task[None]] = set()
        finished: list[PollRecord] = []
        writing: asyncio.Future[None] | None = None
        renewing = asyncio.create_task(self._renew_leases())
        oldest = 0.0  # when the oldest unwritten record finished
        stopping = 0.0
        ended = asyncio.Event()  # a poll ended: wakes the schedule (one event, not N waits)

        async def poll(job: Job, state: FeedState) -> None:
            mine = PollReport()
            try:
                finished.append(await self._poll(job, state, mine))
            finally:
                self._in_flight.discard(job.source.name)
                ended.set()
            record(mine)
            if mine.pipeline.alerts:
                on_alerts()

        try:
            while True:
                room = self.concurrency - len(running)
                batch = take(min(room, self.batch)) if room > 0 and not done() else []
                if batch:
                    names = {job.source.name for job in batch}
                    self._in_flight |= names
                    leased, failed = await self._store(self._lease, batch)
                    for job, state in leased:
                        task = loop.create_task(poll(job, state))
                        running.add(task)
                        task.add_done_callback(running.discard)
                    self._in_flight -= names - {job.source.name for job, _ in leased}
                    skipped = len(batch) - len(leased) - failed
                    record(PollReport(polled=failed, failed=failed, skipped=skipped))
                    continue  # more may be due, and there may be room for them
                if finished and not oldest:
                    oldest = loop.time()
                if finished and (
                    len(finished) >= self.batch or loop.time() - oldest >= WRITE_EVERY or done()
                ):
                    if writing is not None:
                        await writing  # one write at a time, in order
                    records = finished[:]
                    finished.clear()
                    oldest = 0.0
                    writing = loop.run_in_executor(self._store_thread, self._write, records)
                    continue
                if done():
                    stopping = stopping or loop.time()
                    if not running or (grace is not None and loop.time() - stopping > grace):
                        break
                await self._wait(ended, bool(finished), done)
        finally:
            renewing.cancel()
            for task in running:  # cut off: their leases run out by themselves
                task.cancel()
            await asyncio.gather(*running, renewing, return_exceptions=True)
            if writing is not None:
                await writing
            if finished:
                await loop.run_in_executor(self._store_thread, self._write, finished[:])

    async def _wait(self, ended: asyncio.Event, unwritten: bool, done: Callable[[], bool]) -> None:
        """Until a poll ends, the next write or job is due, or IDLE_TICK passes."""
        timeout = IDLE_TICK
        if unwritten:
            timeout = WRITE_EVERY
        elif not done():
            timeout = min(IDLE_TICK, self._seconds_to_next_due())
        if not ended.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), timeout)
        ended.clear()

    def _seconds_to_next_due(self) -> float:
        with self._lock:
            if not self._due:
                return IDLE_TICK
            return max(0.0, self._due[0][0] - self.clock().timestamp())

    async def _store(self, function: Callable[..., T], *args: Any) -> T:
        """A store call on the store thread: the loop goes on meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_thread, function, *args)

    def _lease(self, batch: list[Job]) -> tuple[list[tuple[Job, FeedState]], int]:
        """Lease a batch of feeds: those leased with their states, and how many failed (the
        database is away). The others are another replica's until their lease runs out, and
        are asked for again then."""
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
            expiries = self.store.lease_expiries([n for n in names if n not in leased])
        except Exception as exc:  # the database is away: try again soon, like any failure
            self._write([self._failed(j, now, f"cannot lease: {exc}", permanent=False)
                         for j in batch])  # fmt: skip
            return [], len(batch)
        for job in batch:
            if job.source.name not in leased:
                self._skipped(job, now, expiries.get(job.source.name))
        held = [job for job in batch if job.source.name in leased]
        return [(job, states.get(job.source.name, FeedState())) for job in held], 0

    def _skipped(self, job: Job, now: datetime, lease_until: datetime | None) -> None:
        # Another replica holds it: ask again when its lease runs out (a poll still running
        # renews it; one that finished left it until the feed is due), with a little jitter.
        with self._lock:
            until = lease_until or now + timedelta(seconds=max(5.0, job.interval / 10))
            wait = max(1.0, (until - now).total_seconds()) + self._rng.uniform(0.0, 0.5)
            self._reschedule(job.source.name, now + timedelta(seconds=wait))

    async def _renew_leases(self) -> None:
        """Every third of a lease, extend the leases of the polls still running."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            names = sorted(self._in_flight)
            if not names:
                continue
            until = self.clock() + timedelta(seconds=self.lease_seconds)
            try:
                renew = functools.partial(
                    self.store.renew_feed_leases, names, holder=self.holder, until=until
                )
                held = await self._store(renew)
            except Exception as exc:  # the database is away: the leases may run out
                log.warning("could not renew %d feed leases: %s", len(names), exc)
                continue
            lost = {n for n in names if n in self._in_flight} - held
            if lost:
                log.warning("lost the lease on %d feeds still being polled (%s): another "
                            "replica may poll them too; dedup keeps each entry once",
                            len(lost), ", ".join(sorted(lost)[:5]))  # fmt: skip

    # --- one poll --------------------------------------------------------------------------
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
            self._reschedule(name, started + timedelta(seconds=wait))
        self._count(name, "not_modified" if result.not_modified else "ok", len(result.entries))
        return PollRecord(
            name,
            at=self.clock(),
            interval=health.interval,
            next_due=health.next_due or self.clock(),
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
            self._reschedule(job.source.name, started + timedelta(seconds=wait))
        self._count(job.source.name, "error")
        log.warning(
            "source %s failed (%s, %d in a row): %s; next try in %.0f s",
            job.source.name, "permanent" if permanent else "transient",
            health.consecutive_failures, error, wait,
        )  # fmt: skip
        return PollRecord(
            job.source.name, at=self.clock(), interval=job.interval,
            next_due=health.next_due or self.clock(), error=error,
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

    def _write(self, records: list[PollRecord]) -> None:
        """Write back finished polls. If the database is away, their states are not saved
        (the feeds are fetched again, dedup drops the repeats) and their leases simply
        expire: nothing is lost."""
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

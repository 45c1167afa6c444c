"""Assembles the parts from settings: store, scorer, pipeline, poller, outbox, notifier.

The only module that knows every part; each part knows only its own neighbours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.analysis.base import Scorer, get_scorer
from bot.chat.notifier import Notifier
from bot.config import Settings, WatchList, load_watch_list
from bot.http import HttpFetcher
from bot.models import RawEntry
from bot.ops import notify_failing_sources
from bot.outbox import Outbox
from bot.pipeline import BrandRule, Pipeline
from bot.poller import Job, Poller
from bot.sources.base import StreamSource, limits_of
from bot.sources.registry import build_source, is_stream
from bot.store import Store, open_store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StreamJob:
    brand: BrandRule
    source: StreamSource


@dataclass(slots=True)
class Runtime:
    settings: Settings
    watch: WatchList
    store: Store
    scorer: Scorer
    pipeline: Pipeline
    poller: Poller
    outbox: Outbox
    fetcher: HttpFetcher
    streams: list[StreamJob]

    def close(self) -> None:
        self.fetcher.close()  # first: it shuts its async clients on the poller's idle loop
        self.poller.close()
        self.store.close()


def build_runtime(
    settings: Settings,
    notifier: Notifier,
    *,
    clock: Callable[[], datetime] = utcnow,
    watch: WatchList | None = None,
    store: Store | None = None,
) -> Runtime:
    watch = watch or load_watch_list(settings.watch_list)
    store = store or open_store(settings.database_url)
    scorer = get_scorer(settings.scorer, cascade_share=settings.cascade_share)
    fetcher = HttpFetcher.from_settings(settings)
    pipeline = Pipeline(store, scorer, clock)
    jobs: list[Job] = []
    streams: list[StreamJob] = []
    for brand_config, source_config in watch.sources():
        brand = BrandRule.from_config(brand_config, settings)
        source = build_source(
            source_config,
            fetcher,
            settings,
            matches=lambda t, b=brand: b.terms.match(t) is not None,
        )
        if is_stream(source):
            streams.append(StreamJob(brand, source))  # type: ignore[arg-type]
        else:
            interval = limits_of(source).interval(source_config.interval, settings.poll_interval)
            jobs.append(Job(brand, source, interval))  # type: ignore[arg-type]
    poller = Poller(
        store,
        pipeline,
        jobs,
        clock,
        lease_seconds=settings.poll_lease_seconds,
        min_interval=settings.poll_interval_min,
        max_interval=settings.poll_interval_max,
    )
    outbox = Outbox(
        store,
        notifier,
        clock,
        batch=settings.outbox_batch,
        max_backoff=settings.outbox_max_backoff,
        lease_seconds=settings.delivery_lease_seconds,
    )
    return Runtime(settings, watch, store, scorer, pipeline, poller, outbox, fetcher, streams)


def run_outbox(outbox: Outbox, stop: threading.Event, wake: threading.Event) -> None:
    """Deliver alerts until `stop`; `wake` is set when new alerts are queued so they go out
    at once instead of at the next tick."""
    while not stop.is_set():
        try:
            report = outbox.deliver_due()
        except Exception:  # the database restarting, say: log, wait, carry on
            log.exception("outbox: delivery cycle failed; retrying")
            stop.wait(5.0)
            continue
        if report.paused_for:
            stop.wait(report.paused_for)
        elif not report.delivered:
            wake.wait(2.0)
            wake.clear()


def start_background(runtime: Runtime, stop: threading.Event) -> list[threading.Thread]:
    """Start the poller and the outbox in daemon threads; return them for joining."""
    wake = threading.Event()

    def poll_loop() -> None:
        poller = runtime.poller
        hinted = False
        while not stop.is_set():
            due = poller.due_jobs(poller.clock())
            if due:
                report = poller.poll_once(due)
                p = report.pipeline
                log.info(
                    "polled %d sources (%d failed, %d unchanged): %d entries, %d matched, "
                    "%d new, %d alerts queued",
                    report.polled, report.failed, report.not_modified, p.entries, p.matched,
                    p.stored, p.alerts,
                )  # fmt: skip
                if p.alerts:
                    wake.set()
                if report.failed == report.polled and not hinted:
                    hinted = True
                    log.warning(
                        "every source failed; if this machine is offline, `mentionbot demo` "
                        "shows the bot at work on bundled sample feeds"
                    )
                if report.failed and runtime.settings.ops_channel:
                    try:
                        notify_failing_sources(
                            runtime.store, runtime.outbox.notifier, runtime.settings.ops_channel,
                            poller.clock(),
                        )  # fmt: skip
                    except Exception:
                        log.exception("could not check for failing sources")
            stop.wait(min(60.0, max(0.5, poller.seconds_until_next(poller.clock()))))

    threads = [
        threading.Thread(target=poll_loop, name="poller", daemon=True),
        threading.Thread(target=run_outbox, args=(runtime.outbox, stop, wake), name="outbox",
                         daemon=True),
    ]  # fmt: skip
    for job in runtime.streams:
        name = f"stream-{job.source.name}"
        args = (runtime, job, stop, wake)
        threads.append(threading.Thread(target=run_stream, args=args, name=name, daemon=True))
    for thread in threads:
        thread.start()
    return threads


def run_stream(
    runtime: Runtime, job: StreamJob, stop: threading.Event, wake: threading.Event
) -> None:
    """Feed a push source into the pipeline; its cursor is saved only after its entries are
    stored, so a restart resumes where the store left off."""
    name = job.source.name
    store, pipeline = runtime.store, runtime.pipeline

    def emit(entries: Sequence[RawEntry], cursor: str) -> None:
        report = pipeline.process(job.brand, entries) if entries else None
        state = store.feed_state(name)
        store.save_feed_state(name, replace(state, cursor=cursor), at=pipeline.clock())
        if report is not None and report.alerts:
            wake.set()

    while not stop.is_set():
        try:
            job.source.run(emit, store.feed_state(name).cursor, stop)
        except Exception:  # a bug in a stream must not end it for good
            log.exception("stream %s stopped unexpectedly; restarting", name)
            stop.wait(5.0)

"""Assembles the parts from settings: store, scorer, pipeline, poller, outbox, notifier.

The only module that knows every part; each part knows only its own neighbours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.analysis.base import Scorer, get_scorer
from bot.chat.notifier import Notifier
from bot.config import Settings, WatchList, load_watch_list
from bot.http import HttpFetcher
from bot.outbox import Outbox
from bot.pipeline import BrandRule, Pipeline
from bot.poller import Job, Poller
from bot.sources.feeds import build_source
from bot.store import Store, open_store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


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

    def close(self) -> None:
        self.fetcher.close()
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
    scorer = get_scorer(settings.scorer)
    fetcher = HttpFetcher.from_settings(settings)
    pipeline = Pipeline(store, scorer, clock)
    jobs = [
        Job(
            brand=BrandRule.from_config(brand, settings),
            source=build_source(source, fetcher, settings),
            interval=source.interval or settings.poll_interval,
        )
        for brand, source in watch.sources()
    ]
    poller = Poller(store, pipeline, jobs, clock)
    outbox = Outbox(
        store, notifier, clock, batch=settings.outbox_batch, max_backoff=settings.outbox_max_backoff
    )
    return Runtime(settings, watch, store, scorer, pipeline, poller, outbox, fetcher)


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
            stop.wait(min(60.0, max(0.5, poller.seconds_until_next(poller.clock()))))

    threads = [
        threading.Thread(target=poll_loop, name="poller", daemon=True),
        threading.Thread(target=run_outbox, args=(runtime.outbox, stop, wake), name="outbox",
                         daemon=True),
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    return threads

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
from bot.poller import Job, Poller, PollReport
from bot.sources.base import StreamSource, limits_of
from bot.sources.parse_pool import ParsePool, Parser
from bot.sources.registry import build_source, is_stream
from bot.store import Store, open_store
from bot.volume import hand_off_held_back

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
    parser: Parser | None = None  # the feed parsers' worker processes

    def close(self) -> None:
        self.fetcher.close()  # first: it shuts its async clients on the poller's idle loop
        self.poller.close()
        if self.parser is not None:
            self.parser.close()
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
    parser = ParsePool.from_settings(settings)
    pipeline = Pipeline(
        store,
        scorer,
        clock,
        max_new_per_poll=settings.max_new_mentions_per_poll,
        max_alerts_per_minute=settings.max_alerts_per_brand_per_minute,
    )
    jobs: list[Job] = []
    streams: list[StreamJob] = []
    for brand_config, source_config in watch.sources():
        brand = BrandRule.from_config(brand_config, settings)
        source = build_source(
            source_config,
            fetcher,
            settings,
            matches=lambda t, b=brand: b.terms.match(t) is not None,
            parser=parser,
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
    return Runtime(
        settings, watch, store, scorer, pipeline, poller, outbox, fetcher, streams, parser
    )


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


REPORT_EVERY = 10.0  # seconds between the poll loop's looks at what the schedule did


def start_background(runtime: Runtime, stop: threading.Event) -> list[threading.Thread]:
    """Start the poller and the outbox in daemon threads; return them for joining."""
    wake = threading.Event()

    def poll_loop() -> None:
        poller = runtime.poller
        poller.start(stop, on_alerts=wake.set)  # each source on its own schedule
        hinted = False
        while not stop.wait(REPORT_EVERY):
            hinted = after_polls(runtime, poller.take_report(), hinted)
        poller.join()

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


def after_polls(runtime: Runtime, report: PollReport, hinted: bool) -> bool:
    """Say what the schedule did since the last look, tell the ops channel about sources
    failing for long, and hand over the held-back summaries. Returns whether the offline
    hint has been given."""
    p = report.pipeline
    if report.polled or report.skipped:
        log.info(
            "polled %d sources (%d failed, %d unchanged, %d held by other replicas): "
            "%d entries, %d matched, %d new, %d alerts queued, %d held back",
            report.polled, report.failed, report.not_modified, report.skipped, p.entries,
            p.matched, p.stored, p.alerts, p.held_back,
        )  # fmt: skip
    if report.all_failed and not hinted:  # not when nothing was polled: nothing was due
        hinted = True
        log.warning(
            "every source polled failed; if this machine is offline, `mentionbot demo` "
            "shows the bot at work on bundled sample feeds"
        )
    now = runtime.poller.clock()
    if report.failed and runtime.settings.ops_channel:
        try:
            notify_failing_sources(
                runtime.store, runtime.outbox.notifier, runtime.settings.ops_channel, now
            )
        except Exception:
            log.exception("could not check for failing sources")
    try:
        post_held_back_summaries(runtime, now)
    except Exception:
        log.exception("could not hand over the held-back summaries")
    return hinted


def post_held_back_summaries(runtime: Runtime, now: datetime) -> None:
    """The held-back summaries (bot/volume.py), each once across replicas, to the brand's
    channel through the notifier's post_notice. The one hand-off to chat of the volume
    bounds: the chat notice queue takes it over."""
    post_notice = getattr(runtime.outbox.notifier, "post_notice", None)
    if post_notice is None:
        return
    hand_off_held_back(runtime.store, post_notice, now)


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

"""Assembles the parts from settings: store, scorer, pipeline, poller, outbox, chat service.

The only module that knows every part; each part knows only its own neighbours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.analysis.base import Scorer, get_scorer
from bot.chat.drafts import Template
from bot.chat.port import ChatAdapter
from bot.chat.service import ChatService
from bot.config import Settings, WatchList, load_watch_list
from bot.http import HttpFetcher
from bot.models import Platform, RawEntry, routes_from_text
from bot.ops import notify_failing_sources
from bot.outbox import Outbox
from bot.pipeline import BrandRule, Pipeline
from bot.poller import Job, Poller, PollReport
from bot.publish.registry import PublicReplies
from bot.sources.base import StreamSource, limits_of
from bot.sources.parse_pool import ParsePool, Parser
from bot.sources.registry import build_source, is_stream
from bot.store import Store, open_store
from bot.team.build import build_team
from bot.team.policy import Policies
from bot.team.scheduler import TeamScheduler
from bot.team.spread import ReachSource
from bot.team.targets import TargetLines
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
    service: ChatService
    fetcher: HttpFetcher
    streams: list[StreamJob]
    public: PublicReplies | None = None
    team: TeamScheduler | None = None  # reminders, escalation, digests (bot/team)
    parser: Parser | None = None  # the feed parsers' worker processes

    def close(self) -> None:
        self.fetcher.close()  # first: it shuts its async clients on the poller's idle loop
        if self.public is not None:
            self.public.close()
        self.poller.close()
        if self.parser is not None:
            self.parser.close()
        self.store.close()


def build_runtime(
    settings: Settings,
    chat: ChatAdapter | Mapping[str, ChatAdapter],
    *,
    clock: Callable[[], datetime] = utcnow,
    watch: WatchList | None = None,
    store: Store | None = None,
    interactive: Mapping[str, ChatAdapter] | None = None,
) -> Runtime:
    """`chat`: the adapters the outbox delivers with (one adapter: for every platform);
    `interactive`: those the chat service redraws and answers with (default: the same)."""
    watch = watch or load_watch_list(settings.watch_list)
    store = store or open_store(settings.database_url)
    scorer = get_scorer(settings.scorer, cascade_share=settings.cascade_share)
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
            matches=brand.matches,
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
    # One adapter for everything (the console) stands in for every platform.
    adapters: dict[str, ChatAdapter] = (
        dict(chat) if isinstance(chat, Mapping) else {p.value: chat for p in Platform}
    )
    policies = Policies.from_brands(watch.brand)
    timing = TargetLines(policies, clock, store)
    outbox = Outbox(
        store,
        adapters,
        clock,
        batch=settings.outbox_batch,
        max_backoff=settings.outbox_max_backoff,
        lease_seconds=settings.delivery_lease_seconds,
        timing=timing,
    )
    public = PublicReplies.from_config(watch, settings)
    service = ChatService(
        store,
        dict(interactive) if interactive is not None else adapters,
        clock,
        admins=frozenset(settings.admin_users),
        brand_routes={brand.name: brand.routes for brand in watch.brand},
        allowed_channels=frozenset(settings.allowed_channels),
        public=public,
        templates={
            b.name: [Template(t.lang, t.text, t.kind) for t in b.template] for b in watch.brand
        },
        timing=timing,
        policies=policies,
    )
    # Sources that can say how far an item has gone (bot/team/spread.py: ReachSource).
    every_source: list[Any] = [job.source for job in jobs] + [job.source for job in streams]
    reach: dict[str, ReachSource] = {
        source.name: source for source in every_source if hasattr(source, "reach")
    }
    team = build_team(store, policies, service, adapters, watch, clock, reach)
    return Runtime(
        settings, watch, store, scorer, pipeline, poller, outbox, service, fetcher, streams,
        public=public, team=team, parser=parser,
    )  # fmt: skip


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
            hinted = after_polls(runtime, poller.take_report(), hinted, wake)
        poller.join()

    threads = [
        threading.Thread(target=poll_loop, name="poller", daemon=True),
        threading.Thread(target=run_outbox, args=(runtime.outbox, stop, wake), name="outbox",
                         daemon=True),
    ]  # fmt: skip
    if runtime.team is not None:
        threads.append(threading.Thread(target=runtime.team.run, args=(stop, wake), name="team",
                                        daemon=True))  # fmt: skip
    for job in runtime.streams:
        name = f"stream-{job.source.name}"
        args = (runtime, job, stop, wake)
        threads.append(threading.Thread(target=run_stream, args=args, name=name, daemon=True))
    if runtime.public is not None and runtime.public.accounts:
        # Sign in to the brands' accounts and read their limits before the first dialog.
        threads.append(threading.Thread(target=runtime.public.warm, name="public-warm",
                                        daemon=True))  # fmt: skip
    for thread in threads:
        thread.start()
    return threads


def after_polls(
    runtime: Runtime, report: PollReport, hinted: bool, wake: threading.Event | None = None
) -> bool:
    """Say what the schedule did since the last look, queue notices for the ops channel
    about sources failing for long and for the held-back summaries (waking the outbox when
    it has some). Returns whether the offline hint has been given."""
    p = report.pipeline
    if report.polled or report.skipped:
        # A skipped source's lease is held by another replica, or (after a restart) still
        # marks when the previous process scheduled its next poll: it is not due yet.
        log.info(
            "polled %d sources (%d failed, %d unchanged, %d not due yet or held by another "
            "replica): "
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
    queued = False
    ops_route = runtime.settings.ops_route
    if report.failed and ops_route is not None:
        try:
            queued |= bool(notify_failing_sources(runtime.store, ops_route, now))
        except Exception:
            log.exception("could not check for failing sources")
    try:
        queued |= queue_held_back_summaries(runtime.store, now)
    except Exception:
        log.exception("could not hand over the held-back summaries")
    if queued and wake is not None:
        wake.set()
    return hinted


def queue_held_back_summaries(store: Store, now: datetime) -> bool:
    """The held-back summaries (bot/volume.py), each once across replicas, queued as notices
    to the routes of the brand they concern: the outbox sends them like alerts. True when
    any was queued."""

    def queue(routes: str, text: str) -> None:
        for route in routes_from_text(routes):
            store.add_notice(route, text, at=now)

    return bool(hand_off_held_back(store, queue, now))


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

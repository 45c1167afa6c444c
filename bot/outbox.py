"""Delivery of queued alerts and notices to chat adapters: at least once per attempt,
recorded once, in order.

A delivery row (one mention on one route) is written in the same transaction as its mention
(bot/store), so nothing that was stored can be forgotten. Here each due delivery is leased,
posted, and marked delivered with the message reference the platform returned. When an earlier
attempt ended without a known outcome (the process was killed between posting and recording,
or the request timed out), an adapter that can look for its own messages is asked first, so
the alert is not posted twice; one that cannot (Teams) posts again: at least once.

A failure that concerns the route (an outage, a rate limit, a missing channel) pauses the
whole route: everything queued for it waits, and when it answers again the oldest mention goes
first, so the team reads what waited in the order it was said. Permanent errors are retried
too, only slowly: the alert waits until someone fixes the configuration.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import metrics
from bot.chat.port import ChatAdapter, DeliveryError
from bot.chat.service import TimingFn, load_view
from bot.chat.views import Person
from bot.models import Delivery, MessageRef, Notice, Route
from bot.store.base import Store

log = logging.getLogger(__name__)

BASE_BACKOFF_SECONDS = 5.0


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    recovered: int = 0  # found already posted by an interrupted attempt, not posted again
    notices: int = 0
    paused_for: float = 0.0  # seconds a platform asked us to wait (rate limit), 0 if none


class Outbox:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChatAdapter],
        clock: Callable[[], datetime],
        *,
        batch: int = 20,
        max_backoff: float = 600.0,
        lease_seconds: float = 120.0,
        rng: random.Random | None = None,
        timing: TimingFn | None = None,
    ) -> None:
        self.store = store
        self.timing = timing
        self.adapters = dict(adapters)  # platform → adapter
        self.clock = clock
        self.batch = batch
        self.max_backoff = max_backoff
        self.lease_seconds = lease_seconds
        self._rng = rng or random.Random()

    def deliver_due(self) -> DeliveryReport:
        report = DeliveryReport()
        blocked: set[Route] = set()
        deliveries = self.store.due_deliveries(
            self.clock(), self.batch, platforms=self.adapters, lease_seconds=self.lease_seconds
        )
        for delivery in deliveries:
            if delivery.route in blocked:  # its route just failed: keep the order, wait
                self.store.release_deliveries([delivery.id])
                continue
            if not self._deliver(delivery, report):
                blocked.add(delivery.route)
        notices = self.store.due_notices(
            self.clock(), self.batch, platforms=self.adapters, lease_seconds=self.lease_seconds
        )
        for notice in notices:
            if notice.route in blocked:
                self.store.mark_notice_failed(
                    notice.id, error="route paused", retry_at=self.clock()
                )
                continue
            if not self._send_notice(notice, report):
                blocked.add(notice.route)
        return report

    # --- alerts ---------------------------------------------------------------------------
    def _deliver(self, delivery: Delivery, report: DeliveryReport) -> bool:
        """Post one alert; False when its route failed (and is now paused)."""
        adapter = self.adapters[delivery.route.platform]
        mention = self.store.get_mention(delivery.mention_id)
        if mention is None:  # cannot happen with foreign keys; never crash the loop on it
            self.store.mark_failed(delivery.id, error="mention missing", retry_at=self._far())
            return True
        try:
            message = self._already_posted(adapter, delivery)
            if message is None:
                message = adapter.post_alert(
                    delivery.route, load_view(self.store, mention, self.timing)
                )
            else:
                report.recovered += 1
        except DeliveryError as exc:
            report.failed += 1
            metrics.ALERT_FAILURES.labels("permanent" if exc.permanent else "transient").inc()
            delay = self._delay(delivery.attempts, exc)
            retry_at = self.clock() + timedelta(seconds=delay)
            self.store.mark_failed(
                delivery.id, error=str(exc), retry_at=retry_at, uncertain=exc.uncertain
            )
            log.warning(
                "alert for mention %d to %s not delivered (%s, %s); retry in %.0f s",
                delivery.mention_id,
                delivery.route.key,
                "permanent" if exc.permanent else "transient",
                exc,
                delay,
            )
            return not self._route_failed(delivery.route, exc, retry_at, report)
        except Exception as exc:  # a bug in an adapter must not lose the alert
            report.failed += 1
            metrics.ALERT_FAILURES.labels("error").inc()
            log.exception("delivery %d: unexpected error", delivery.id)
            self.store.mark_failed(
                delivery.id,
                error=f"{type(exc).__name__}: {exc}",
                retry_at=self.clock() + timedelta(seconds=self._delay(delivery.attempts, None)),
                uncertain=True,
            )
            return True
        delivered_at = self.clock()
        self.store.mark_delivered(delivery.id, message=message, at=delivered_at)
        report.delivered += 1
        metrics.ALERTS_DELIVERED.inc()
        since = mention.published_at or mention.fetched_at
        metrics.ALERT_DELAY.labels(mention.source).observe(
            max(0.0, (delivered_at - since).total_seconds())
        )
        return True

    def _already_posted(self, adapter: ChatAdapter, delivery: Delivery) -> MessageRef | None:
        """The message an earlier, interrupted attempt posted, where the platform can tell;
        None means post it now."""
        if not delivery.maybe_posted or not adapter.capabilities.finds_posted:
            return None
        mention = self.store.get_mention(delivery.mention_id)
        since = mention.fetched_at if mention is not None else self.clock()
        found = adapter.find_alert(delivery.route, delivery.mention_id, since)
        if found is not None:
            log.info("delivery %d was already posted by an interrupted attempt", delivery.id)
        return found

    # --- notices --------------------------------------------------------------------------
    def _send_notice(self, notice: Notice, report: DeliveryReport) -> bool:
        adapter = self.adapters[notice.route.platform]
        if notice.for_mention is not None and notice.while_status:
            about = self.store.get_mention(notice.for_mention)
            if about is None or about.status not in notice.while_status:
                # A reminder about a state that is over (someone claimed it meanwhile).
                self.store.mark_notice_sent(notice.id, at=self.clock())
                log.info("notice %d dropped: mention %s moved on", notice.id, notice.for_mention)
                return True
        thread = None
        if notice.thread_of is not None:
            under = self.store.get_delivery(notice.thread_of)
            thread = under.message if under is not None else None
            if thread is None:  # the alert is not posted yet: the note waits for it
                self.store.mark_notice_failed(
                    notice.id,
                    error="alert not posted yet",
                    retry_at=self.clock() + timedelta(seconds=BASE_BACKOFF_SECONDS),
                )
                return True
        try:
            pings = tuple(p for key in notice.ping for p in (Person(key), " "))
            adapter.post_note(notice.route, ((*pings, notice.text),), thread)
        except DeliveryError as exc:
            retry_at = self.clock() + timedelta(seconds=self._delay(notice.attempts, exc))
            self.store.mark_notice_failed(notice.id, error=str(exc), retry_at=retry_at)
            log.warning("notice %d to %s not sent: %s", notice.id, notice.route.key, exc)
            return not self._route_failed(notice.route, exc, retry_at, report)
        except Exception as exc:
            log.exception("notice %d: unexpected error", notice.id)
            self.store.mark_notice_failed(
                notice.id,
                error=f"{type(exc).__name__}: {exc}",
                retry_at=self.clock() + timedelta(seconds=self.max_backoff),
            )
            return True
        self.store.mark_notice_sent(notice.id, at=self.clock())
        report.notices += 1
        return True

    def _route_failed(
        self, route: Route, exc: DeliveryError, retry_at: datetime, report: DeliveryReport
    ) -> bool:
        """True when the failure concerns the whole route (an outage, a rate limit, a missing
        channel): the route is paused until `retry_at`, so what waits for it keeps its order."""
        if exc.retry_after:
            report.paused_for = max(report.paused_for, exc.retry_after)
        if exc.route_wide or exc.retry_after:
            self.store.pause_route(route, until=retry_at, error=str(exc), at=self.clock())
            return True
        return False

    def _delay(self, attempts: int, error: DeliveryError | None) -> float:
        if error is not None and error.retry_after:
            return error.retry_after
        if error is not None and error.permanent:
            return self.max_backoff
        # Exponential with full jitter, so replicas and restarts do not retry in lockstep.
        ceiling = min(self.max_backoff, BASE_BACKOFF_SECONDS * (2**attempts))
        return max(1.0, self._rng.uniform(ceiling / 2, ceiling))

    def _far(self) -> datetime:
        return self.clock() + timedelta(days=365)

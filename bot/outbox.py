"""Delivery of queued alerts to a chat notifier: at least once per attempt, recorded once.

An alert row is written in the same transaction as its mention (bot/store), so nothing that
was stored can be forgotten. Here each due alert is leased, posted, and marked delivered; a
failure leaves it queued with a later retry time. When an earlier attempt ended without a
known outcome (the process was killed between posting and recording, or the request timed
out), the notifier is asked first whether the message is already there, so it is not posted
twice. Permanent errors (a channel that does not
exist) are retried too, only slowly: the alert waits until someone fixes the configuration.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import metrics
from bot.chat.notifier import DeliveryError, Notifier
from bot.models import Alert, Mention
from bot.store.base import Store

log = logging.getLogger(__name__)

BASE_BACKOFF_SECONDS = 5.0


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    recovered: int = 0  # found already posted by an interrupted attempt, not posted again
    paused_for: float = 0.0  # seconds the notifier asked us to wait (rate limit), 0 if none


class Outbox:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        clock: Callable[[], datetime],
        *,
        batch: int = 20,
        max_backoff: float = 600.0,
        lease_seconds: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.batch = batch
        self.max_backoff = max_backoff
        self.lease_seconds = lease_seconds
        self._rng = rng or random.Random()

    def deliver_due(self) -> DeliveryReport:
        report = DeliveryReport()
        alerts = self.store.due_alerts(self.clock(), self.batch, lease_seconds=self.lease_seconds)
        for index, alert in enumerate(alerts):
            mention = self.store.get_mention(alert.mention_id)
            if mention is None:  # cannot happen with foreign keys; never crash the loop on it
                self.store.mark_failed(alert.id, error="mention missing", retry_at=self._far())
                continue
            try:
                chat_ts = self._already_posted(alert, mention)
                if chat_ts is None:
                    chat_ts = self.notifier.post_alert(mention, alert.channel)
                else:
                    report.recovered += 1
            except DeliveryError as exc:
                report.failed += 1
                metrics.ALERT_FAILURES.labels("permanent" if exc.permanent else "transient").inc()
                delay = self._delay(alert.attempts, exc)
                self.store.mark_failed(
                    alert.id,
                    error=str(exc),
                    retry_at=self.clock() + timedelta(seconds=delay),
                    uncertain=getattr(exc, "uncertain", False),
                )
                log.warning(
                    "alert %d for mention %d not delivered (%s, %s); retry in %.0f s",
                    alert.id, alert.mention_id, "permanent" if exc.permanent else "transient",
                    exc, delay,
                )  # fmt: skip
                if exc.retry_after:
                    # The chat service asked us to slow down: stop this batch, hand the rest
                    # back untouched, and let the caller wait as told.
                    self.store.release_alerts(a.id for a in alerts[index + 1 :])
                    report.paused_for = exc.retry_after
                    break
                continue
            except Exception as exc:  # a bug in a notifier must not lose the alert
                report.failed += 1
                metrics.ALERT_FAILURES.labels("error").inc()
                log.exception("alert %d: unexpected delivery error", alert.id)
                self.store.mark_failed(
                    alert.id,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_at=self.clock() + timedelta(seconds=self._delay(alert.attempts, None)),
                    uncertain=True,
                )
                continue
            delivered_at = self.clock()
            self.store.mark_delivered(alert.id, chat_ts=chat_ts, at=delivered_at)
            report.delivered += 1
            metrics.ALERTS_DELIVERED.inc()
            since = mention.published_at or mention.fetched_at
            metrics.ALERT_DELAY.labels(mention.source).observe(
                max(0.0, (delivered_at - since).total_seconds())
            )
        return report

    def _already_posted(self, alert: Alert, mention: Mention) -> str | None:
        """The ts of a message an earlier, interrupted attempt posted, if the notifier can
        tell; None means post it now."""
        find = getattr(self.notifier, "find_posted", None)
        if not alert.maybe_posted or find is None:
            return None
        found: str | None = find(mention, alert.channel)
        if found:
            log.info(
                "alert %d was already posted (ts %s) by an interrupted attempt", alert.id, found
            )
        return found

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

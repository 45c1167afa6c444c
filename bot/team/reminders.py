"""Reminders and escalation: no complaint is forgotten.

`Reminders.run_due(now)` looks at every open alert and, for each brand's rules:
- re-announces an unclaimed alert in its thread after N minutes, mentioning the on-call
  person or group;
- escalates an unclaimed alert to a second route after M minutes (the alert itself is
  delivered there, with its buttons, plus a note in its thread);
- reminds the owner of a claimed alert with no reply after K hours;
- redraws an alert when one of its response-time targets passes (due → overdue).

Each of these happens once per opening of an alert (a reopened alert starts again; a new
claim restarts the owner's clock), decided by `Store.once` in one transaction with the
mention's row locked: two replicas, or a restart in between, cannot send one twice, and a
state change that lands first stops it. The notices go through the outbox (in order, with
retries) and are dropped there if the alert moved on before they could be sent. During a
brand's quiet hours a due reminder waits; the clock keeps running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.text import duration
from bot.models import Delivery, Mention, Status, Transition
from bot.store.base import NoticeDraft, Store
from bot.team.policy import BrandPolicy, Policies
from bot.team.targets import Clocks, clocks

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ReminderReport:
    reannounced: int = 0
    escalated: int = 0
    owners_reminded: int = 0
    redrawn: int = 0
    waiting_for_quiet: int = 0  # due, but inside quiet hours

    def __bool__(self) -> bool:  # something was queued: wake the outbox
        return bool(self.reannounced or self.escalated or self.owners_reminded)


class Reminders:
    def __init__(
        self,
        store: Store,
        policies: Policies,
        redraw: Callable[[int], object],
    ) -> None:
        self.store = store
        self.policies = policies
        self.redraw = redraw  # ChatService.redraw

    def run_due(self, now: datetime) -> ReminderReport:
        report = ReminderReport()
        for mention in self.store.open_alerts():
            try:
                self._check(mention, now, report)
            except Exception:  # one broken alert must not stop the others' reminders
                log.exception("reminders for mention %s failed", mention.id)
        return report

    def _check(self, mention: Mention, now: datetime, report: ReminderReport) -> None:
        assert mention.id is not None
        policy = self.policies(mention.brand)
        history = self.store.history(mention.id)
        c = clocks(history, self.store.replies(mention.id), policy.targets)
        if c is None:
            return
        stage = f"{int(c.opened.timestamp())}"
        self._redraw_if_overdue(mention, c, stage, now, report)
        esc = policy.escalation
        quiet = esc.quiet is not None and esc.quiet.contains(now)
        posted = [d for d in self.store.deliveries(mention.id) if d.message_id]
        if mention.status == Status.ALERTED and c.claimed is None and posted:
            since = now - c.opened
            if esc.reannounce_after is not None and since >= esc.reannounce_after:
                if quiet:
                    report.waiting_for_quiet += 1
                elif self._reannounce(mention, policy, posted, stage, since, now):
                    report.reannounced += 1
            if esc.escalate_after is not None and since >= esc.escalate_after:
                if quiet:
                    report.waiting_for_quiet += 1
                elif self._escalate(mention, policy, stage, since, now):
                    report.escalated += 1
        if mention.status == Status.CLAIMED and mention.owner and esc.remind_owner_after:
            claimed = _claimed_at(history, mention.owner)
            if claimed is not None and now - claimed >= esc.remind_owner_after:
                if quiet:
                    report.waiting_for_quiet += 1
                elif self._remind_owner(mention, posted, claimed, now):
                    report.owners_reminded += 1

    def _reannounce(
        self,
        mention: Mention,
        policy: BrandPolicy,
        posted: list[Delivery],
        stage: str,
        since: timedelta,
        now: datetime,
    ) -> bool:
        on_call = policy.escalation.on_call
        text = f"⏰ Still unclaimed after {duration(since.total_seconds())}: who takes it?"
        notes = [
            NoticeDraft(
                d.route,
                text,
                thread_of=d.id,
                ping=(on_call,) if on_call and _platform(on_call) == d.route.platform else (),
            )
            for d in _one_per_route(posted, exclude=policy.escalation.escalate_to)
        ]
        return self.store.once(
            f"m{mention.id}:reannounce:{stage}",
            at=now,
            mention_id=mention.id,
            while_status=(Status.ALERTED,),
            notices=notes,
        )

    def _escalate(
        self, mention: Mention, policy: BrandPolicy, stage: str, since: timedelta, now: datetime
    ) -> bool:
        esc = policy.escalation
        assert esc.escalate_to is not None
        where = ", ".join(r.channel for r in policy.routes) or "its channel"
        text = (
            f"🚨 Escalated: nobody has claimed this {mention.verdict.sentiment.value} mention "
            f"of {mention.brand} in {duration(since.total_seconds())} (alerted in {where})."
        )
        ping = (
            (esc.on_call,)
            if esc.on_call and _platform(esc.on_call) == esc.escalate_to.platform
            else ()
        )
        won = self.store.once(
            f"m{mention.id}:escalate:{stage}",
            at=now,
            mention_id=mention.id,
            while_status=(Status.ALERTED,),
            deliver_to=esc.escalate_to,
            notices=[NoticeDraft(esc.escalate_to, text, ping=ping, under_new_delivery=True)],
        )
        if won:
            log.info("escalated mention %d to %s", mention.id, esc.escalate_to.key)
        return won

    def _remind_owner(
        self, mention: Mention, posted: list[Delivery], claimed: datetime, now: datetime
    ) -> bool:
        owner = mention.owner
        mine = [d for d in _one_per_route(posted) if d.route.platform == _platform(owner)]
        if not mine:
            return False
        text = (
            f"⏰ Reminder: you claimed this {duration((now - claimed).total_seconds())} ago "
            "and it has no reply yet. Reply or resolve it, or unclaim it so someone else can."
        )
        return self.store.once(
            f"m{mention.id}:remind:{owner}:{int(claimed.timestamp())}",
            at=now,
            mention_id=mention.id,
            while_status=(Status.CLAIMED,),
            owner=owner,
            notices=[NoticeDraft(mine[0].route, text, thread_of=mine[0].id, ping=(owner,))],
        )

    def _redraw_if_overdue(
        self, mention: Mention, c: Clocks, stage: str, now: datetime, report: ReminderReport
    ) -> None:
        assert mention.id is not None
        passed = []
        if c.claimed is None and mention.status == Status.ALERTED and now >= c.claim_due:
            passed.append("claim")
        replying = mention.status in (Status.ALERTED, Status.CLAIMED)
        if c.replied is None and replying and now >= c.reply_due:
            passed.append("reply")
        won = False
        for target in passed:
            won |= self.store.once(f"m{mention.id}:overdue-{target}:{stage}", at=now)
        if won:
            self.redraw(mention.id)
            report.redrawn += 1


def _claimed_at(history: Sequence[Transition], owner: str) -> datetime | None:
    """When the current owner's claim began (a new claim restarts the clock)."""
    for t in reversed(history):
        if t.to_status == Status.CLAIMED:
            return t.at if t.actor == owner else None
    return None


def _platform(key: str) -> str:
    return key.partition(":")[0]


def _one_per_route(posted: list[Delivery], exclude: object = None) -> list[Delivery]:
    seen, out = set(), []
    for d in posted:
        if d.route != exclude and d.route not in seen:
            seen.add(d.route)
            out.append(d)
    return out

"""Response-time targets: when an alert must be claimed and first answered, whether it was,
and the line every alert shows about it. Pure, given the time.

The clock of an alert starts when it was opened (first posted, or reopened) and counts the
brand's working time only. Times are shown as moments (`When`), which each platform draws in
the reader's own zone, so a message never goes stale; the one change that needs a redraw, a
target passing, is done by the scheduler (bot/team/reminders.py) at that minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.chat.text import duration
from bot.chat.views import Line, Part, When
from bot.models import Mention, Reply, Status, Transition
from bot.store.base import Store
from bot.team.policy import Policies, Targets

OPENING = (Status.NEW, Status.RESOLVED, Status.DISMISSED)  # into ALERTED from these: (re)opened
TAKEN = (Status.CLAIMED, Status.REPLIED)


@dataclass(frozen=True, slots=True)
class Clocks:
    """The moments that matter for the targets of one alert's current opening."""

    opened: datetime
    claimed: datetime | None
    replied: datetime | None
    claim_due: datetime
    reply_due: datetime


def opened_at(history: Sequence[Transition]) -> datetime | None:
    """When the alert was last (re)opened: posted, or reopened after being closed."""
    for t in reversed(history):
        if t.to_status == Status.ALERTED and t.from_status in OPENING:
            return t.at
    return None


def clocks(
    history: Sequence[Transition],
    replies: Sequence[Reply],
    targets: Targets,
    posting_at: datetime | None = None,
) -> Clocks | None:
    """The alert's clocks; `posting_at`: the alert is being posted now (its clock starts)."""
    opened = opened_at(history) or posting_at
    if opened is None:
        return None
    claimed = next((t.at for t in history if t.at >= opened and t.to_status in TAKEN), None)
    replied = next((r.at for r in replies if r.at >= opened), None)
    work = targets.hours
    return Clocks(
        opened=opened,
        claimed=claimed,
        replied=replied,
        claim_due=work.add(opened, targets.claim.total_seconds()),
        reply_due=work.add(opened, targets.reply.total_seconds()),
    )


def next_change(mention: Mention, c: Clocks) -> datetime | None:
    """The next moment the alert's target line changes by itself (a target passing)."""
    if mention.status == Status.ALERTED and c.claimed is None:
        return c.claim_due
    if mention.status in (Status.ALERTED, Status.CLAIMED) and c.replied is None:
        return c.reply_due
    return None


def timing_line(mention: Mention, c: Clocks | None, targets: Targets, now: datetime) -> Line:
    """ "⏱ Claim by 09:15 · first reply by 10:00", "⏰ Claim overdue since 09:15 (…)", and
    after the fact how long each took against its target."""
    if c is None:
        return ()
    parts: list[Part] = []
    open_ = mention.status in (Status.NEW, Status.ALERTED, Status.CLAIMED)
    if c.claimed is None and mention.status in (Status.NEW, Status.ALERTED):
        parts += _due("Claim", c.claim_due, now)
    elif c.claimed is not None:
        parts += _took("claimed", c.claimed - c.opened, c.claimed <= c.claim_due, targets.claim)
    if c.replied is None and open_:
        first = not parts
        parts += [] if first else [" · "]
        parts += _due("First reply" if first else "first reply", c.reply_due, now, icon=first)
    elif c.replied is not None:
        parts += [" · "] if parts else []
        parts += _took("first reply", c.replied - c.opened, c.replied <= c.reply_due, targets.reply)
    return tuple(parts)


def _due(what: str, due: datetime, now: datetime, *, icon: bool = True) -> list[Part]:
    if now < due:
        return [f"{'⏱ ' if icon else ''}{what} by ", When(due)]
    return [f"⏰ {what} overdue since ", When(due), " (", When(due, ago=True), ")"]


def _took(what: str, took: object, met: bool, target: object) -> list[Part]:
    seconds = took.total_seconds()  # type: ignore[attr-defined]
    limit = duration(target.total_seconds())  # type: ignore[attr-defined]
    mark = "✓" if met else "⚠"
    return [f"{mark} {what} after {duration(seconds)} (target {limit})"]


TimingFn = Callable[[Mention, Sequence[Transition], Sequence[Reply]], Line]


class TargetLines:
    """The `timing` hook the chat service and outbox draw alerts with: brand → targets, and
    the time now; with a store, also the alert's reach and whether it is spreading."""

    def __init__(
        self, policies: Policies, clock: Callable[[], datetime], store: Store | None = None
    ) -> None:
        self.policies = policies
        self.clock = clock
        self.store = store

    def __call__(
        self, mention: Mention, history: Sequence[Transition], replies: Sequence[Reply]
    ) -> Line:
        targets = self.policies(mention.brand).targets
        now = self.clock()
        posting = now if mention.status == Status.NEW else None
        line = timing_line(mention, clocks(history, replies, targets, posting), targets, now)
        return line + self._reach(mention, bool(line))

    def _reach(self, mention: Mention, after: bool) -> Line:
        if self.store is None or mention.id is None:
            return ()
        samples = self.store.reach_history(mention.id)
        if not samples:
            return ()
        spreading = self.store.done_once(f"m{mention.id}:spreading")
        text = f"📈 reach {samples[-1][1]}" + (" · 🔥 spreading: priority" if spreading else "")
        return (" · " + text,) if after else (text,)

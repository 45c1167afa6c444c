"""The team's figures for a period: volume by sentiment and source, the top mentions, and
how fast the team claimed, first replied and resolved (median and 90th percentile, and how
many within the brand's targets), per person too. Pure: rows in, figures out. The digest,
`mentions stats` and the home view all show these same numbers.

Percentiles use the "inclusive" method of Python's statistics.quantiles (linear
interpolation between the closest ranks), so a hand calculation gives the same figure.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.models import Sentiment, Status
from bot.store.base import WorkflowRow
from bot.team.policy import Targets

OPEN = (Status.ALERTED, Status.CLAIMED, Status.REPLIED)
TOP = 5


@dataclass(frozen=True, slots=True)
class Timing:
    """One response time over a period: seconds, from the alert being posted."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    within_target: int = 0  # of `count`, how many met the target (working time)
    target: float | None = None  # seconds; None: no target (resolve)


@dataclass(frozen=True, slots=True)
class PersonFigures:
    claimed: int = 0
    replied: int = 0
    resolved: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    since: datetime
    until: datetime
    total: int = 0
    alerted: int = 0
    muted: int = 0
    by_sentiment: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    to_claim: Timing = Timing()
    to_reply: Timing = Timing()
    to_resolve: Timing = Timing()
    people: dict[str, PersonFigures] = field(default_factory=dict)
    top: tuple[WorkflowRow, ...] = ()
    trend: tuple[tuple[datetime, dict[str, int]], ...] = ()  # (bucket start, by sentiment)


def spread(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(median, 90th percentile) of `values`."""
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=10, method="inclusive")[8]


def compute(
    rows: Sequence[WorkflowRow],
    since: datetime,
    until: datetime,
    targets: Callable[[str], Targets],
    *,
    bucket: timedelta = timedelta(days=1),
) -> Figures:
    shown = [r for r in rows if since <= r.fetched_at < until]
    by_sentiment = Counter(r.sentiment for r in shown)
    by_source = Counter(r.source for r in shown)
    alerted = [r for r in shown if r.alerted_at is not None and r.flagged]

    def timing(moment: Callable[[WorkflowRow], datetime | None], target: str | None) -> Timing:
        took, met = [], 0
        for r in alerted:
            at = moment(r)
            if at is None or r.alerted_at is None:
                continue
            took.append(max(0.0, (at - r.alerted_at).total_seconds()))
            if target is not None:
                t = targets(r.brand)
                limit = getattr(t, target).total_seconds()
                met += t.hours.elapsed(r.alerted_at, at) <= limit
        median, p90 = spread(sorted(took))
        target_seconds = None
        if target is not None and alerted:
            target_seconds = getattr(targets(alerted[0].brand), target).total_seconds()
        return Timing(len(took), median, p90, met, target_seconds)

    people: dict[str, list[int]] = {}
    for r in shown:
        for index, who in enumerate((r.claimed_by, r.replied_by, r.resolved_by)):
            if who and who != "system":
                people.setdefault(who, [0, 0, 0])[index] += 1
    top = sorted(
        (r for r in shown if r.muted is False),
        key=lambda r: (r.sentiment != Sentiment.NEGATIVE, -r.attention, r.mention_id),
    )[:TOP]
    return Figures(
        since=since,
        until=until,
        total=len(shown),
        alerted=len(alerted),
        muted=sum(r.muted for r in shown),
        by_sentiment=dict(sorted(by_sentiment.items())),
        by_source=dict(by_source.most_common()),
        to_claim=timing(lambda r: r.claimed_at, "claim"),
        to_reply=timing(lambda r: r.replied_at, "reply"),
        to_resolve=timing(lambda r: r.resolved_at, None),
        people={k: PersonFigures(*v) for k, v in sorted(people.items())},
        top=tuple(top),
        trend=_trend(shown, since, until, bucket),
    )


def _trend(
    rows: Sequence[WorkflowRow], since: datetime, until: datetime, bucket: timedelta
) -> tuple[tuple[datetime, dict[str, int]], ...]:
    buckets: list[tuple[datetime, dict[str, int]]] = []
    start = since
    while start < until and len(buckets) < 400:
        buckets.append((start, {s.value: 0 for s in Sentiment}))
        start += bucket
    for r in rows:
        index = int((r.fetched_at - since) / bucket)
        if 0 <= index < len(buckets):
            counts = buckets[index][1]
            counts[r.sentiment] = counts.get(r.sentiment, 0) + 1
    return tuple(buckets)


def open_complaints(rows: Sequence[WorkflowRow]) -> list[WorkflowRow]:
    """Negative alerts nobody has closed, oldest first."""
    return sorted(
        (r for r in rows if r.flagged and r.status in OPEN and r.sentiment == Sentiment.NEGATIVE),
        key=lambda r: (r.fetched_at, r.mention_id),
    )

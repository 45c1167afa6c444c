"""Spikes: when a brand's negative mentions in the last hour are far above their usual level,
one spike alert with the top mentions and the phrases they share, instead of a flood.

The usual level is learned from the brand's own history and is robust to the hour of day and
the day of week: it is the larger of two medians, the same hour of the week over the past
four weeks, and the same hour of the day over the past week (so a busy Monday morning is
usual, and so is a quiet Sunday night). The margin is the larger of the samples' spread
(1.4826 × MAD) and Poisson noise (√level). A brand with less than two weeks of history has
no usual level yet and never spikes. After a spike alert, a cooldown keeps it quiet.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.chat.views import Line, Link
from bot.models import Mention, Route, Sentiment
from bot.store.base import MentionQuery, Store
from bot.team.policy import Policies
from bot.team.scheduler import send_or_queue

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
WEEKS = 4
MIN_HISTORY = timedelta(days=14)
MIN_SPIKE = 10  # never call fewer than this a spike
FACTOR = 3.0  # at least three times the usual level
SIGMAS = 4.0  # and this many spreads above it
COOLDOWN_HOURS = 6
# After a spike alert, the brand's single alerts are held for this long (stored, flagged,
# listed by /mentions open, summarised in one notice a minute): one alert, not fifty.
HOLD_SINGLES = timedelta(hours=1)
PHRASES = 5
_WORD = re.compile(r"[a-z0-9][a-z0-9'’-]*")
_STOP = (
    "a an the and or but if of to in on at for with by from is are was were be "
    "been it its this that these those i you he she we they my your our their "
    "me us them not no so do does did have has had just very can will would should "
    "could as about what when how all any more most some such than too up out "
    "again there here why who which"
)
STOPWORDS = frozenset(_STOP.split())


@dataclass(frozen=True, slots=True)
class Baseline:
    level: float  # usual negative mentions in this hour
    threshold: float  # at or above this, it is a spike
    samples: int


@dataclass(frozen=True, slots=True)
class SpikeView:
    brand: str
    count: int
    usual: float
    since: datetime
    headline: str
    summary: tuple[Line, ...]
    top: tuple[Line, ...]
    phrases: tuple[tuple[str, int], ...]


class SpikeSender(Protocol):
    def post_spike(self, route: Route, view: SpikeView) -> None: ...


def baseline(history: Sequence[datetime], now: datetime, first_seen: datetime) -> Baseline | None:
    """The usual level of the hour ending at `now`, from the brand's earlier negative
    mentions (`history`, sorted); None while the brand is too new to know."""
    if now - first_seen < MIN_HISTORY:
        return None

    def window(end: datetime) -> int:
        return bisect.bisect_left(history, end) - bisect.bisect_left(history, end - HOUR)

    weekly = [window(now - timedelta(weeks=w)) for w in range(1, WEEKS + 1)]
    daily = [window(now - timedelta(days=d)) for d in range(1, 8)]
    candidates = []
    for samples in (weekly, daily):
        median = statistics.median(samples)
        mad = statistics.median(abs(s - median) for s in samples) * 1.4826
        candidates.append((median, mad))
    level, spread = max(candidates)
    margin = max(spread, math.sqrt(max(level, 1.0)))
    threshold = max(MIN_SPIKE, level * FACTOR, level + SIGMAS * margin)
    return Baseline(level, threshold, len(weekly) + len(daily))


def common_phrases(
    texts: Sequence[str], ignore: Sequence[str] = (), limit: int = PHRASES
) -> list[tuple[str, int]]:
    """Two-word phrases (and words) said in more than one mention, most frequent first."""
    skip = {w for term in ignore for w in _WORD.findall(term.lower())}
    pairs: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for text in texts:
        tokens = [t for t in _WORD.findall(text.lower()) if t not in STOPWORDS and t not in skip]
        pairs.update({f"{a} {b}" for a, b in itertools.pairwise(tokens)})
        words.update(set(tokens))
    found = [(p, n) for p, n in pairs.most_common(limit) if n > 1]
    if len(found) < limit:
        used = {w for p, _ in found for w in p.split()}
        found += [(w, n) for w, n in words.most_common(limit * 3) if n > 1 and w not in used]
    return found[:limit]


class Spikes:
    def __init__(
        self,
        store: Store,
        policies: Policies,
        senders: Mapping[str, SpikeSender],
        clock: Callable[[], datetime],
        *,
        terms: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.store = store
        self.policies = policies
        self.senders = dict(senders)
        self.clock = clock
        self.terms = {k.lower(): v for k, v in (terms or {}).items()}

    def run_due(self, now: datetime) -> int:
        sent = 0
        for policy in self.policies:
            route = policy.routes[0] if policy.routes else None
            if route is None or self._cooling(policy.brand, now):
                continue
            view = self.check(policy.brand, now)
            if view is None:
                continue
            key = f"spike:{policy.brand.lower()}:{_slot(now)}"
            if not self.store.once(key, at=now):
                continue
            self._send(route, view)
            sent += 1
        return sent

    def check(self, brand: str, now: datetime) -> SpikeView | None:
        """The spike alert for `brand` if the last hour is a spike."""
        since = now - timedelta(weeks=WEEKS) - HOUR
        times = self.store.fetch_times(brand, Sentiment.NEGATIVE, since)
        base = baseline(times, now, self.store.first_seen(brand) or now)
        count = bisect.bisect_left(times, now) - bisect.bisect_left(times, now - HOUR)
        if base is None or count < base.threshold:
            return None
        recent = self.store.find_mentions(
            MentionQuery(brand=brand, sentiment=Sentiment.NEGATIVE, since=now - HOUR, limit=500)
        )
        recent = [m for m in recent if m.fetched_at < now]
        return spike_view(brand, recent, count, base, now, self.terms.get(brand.lower(), ()))

    def _cooling(self, brand: str, now: datetime) -> bool:
        return spiked_within(self.store, brand, now, COOLDOWN_HOURS * HOUR)

    def _send(self, route: Route, view: SpikeView) -> None:
        send_or_queue(
            self.store, self.senders, route, "post_spike", view, view.headline, self.clock()
        )


def spike_view(
    brand: str,
    recent: Sequence[Mention],
    count: int,
    base: Baseline,
    now: datetime,
    terms: Sequence[str],
) -> SpikeView:
    top = sorted(recent, key=lambda m: (-m.verdict.attention, m.id or 0))[:5]
    sources = Counter(m.source for m in recent).most_common(3)
    return SpikeView(
        brand=brand,
        count=count,
        usual=base.level,
        since=now - HOUR,
        headline=f"📈 Spike: {count} negative mentions of {brand} in the last hour "
        f"(usually about {base.level:.0f})",
        summary=(
            (
                "Mostly on " + ", ".join(f"{s} ({n})" for s, n in sources) + ". "
                f"For the next {HOLD_SINGLES.seconds // 3600} h, new single alerts for {brand} "
                "are held and summarised in one message a minute (/mentions open lists them).",
            ),
        ),
        top=tuple(
            (Link(m.url, m.title or m.text[:80] or "(untitled)"), f" · {m.source} · #{m.id}")
            for m in top
        ),
        phrases=tuple(common_phrases([f"{m.title} {m.text}" for m in recent], terms)),
    )


def spiked_within(store: Store, brand: str, now: datetime, span: timedelta) -> bool:
    """Whether a spike alert for `brand` went out in the `span` before `now` (whichever
    replica sent it: the `once` rows say)."""
    hours = max(1, math.ceil(span / HOUR))
    return any(
        store.done_once(f"spike:{brand.lower()}:{_slot(now - h * HOUR)}") for h in range(hours)
    )


def _slot(at: datetime) -> int:
    return int(at.timestamp() // 3600)

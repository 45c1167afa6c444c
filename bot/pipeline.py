"""Raw entries in, stored and scored mentions out: match, dedup, language/score, store+queue.

Volume is bounded (issue 11): at most `max_new_per_poll` new mentions of one poll (one
`process` call) are scored and may alert, the newest first; the rest are stored unscored,
searchable, and recorded as held back. At most `max_alerts_per_minute` alerts per brand are
queued in any minute, across replicas; a flagged mention over that is stored without its
alert and recorded too. bot/volume.py turns the records into one summary notice per brand.
Nothing is dropped silently."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot import metrics
from bot.analysis import burst
from bot.analysis.base import Scorer
from bot.config import BrandConfig, Settings
from bot.matching import TermSet, canonical_url, text_key
from bot.models import Mention, RawEntry, Route, Sentiment, Verdict
from bot.store.base import Store
from bot.team.policy import BrandPolicy, Routing
from bot.team.routing import decide
from bot.team.spikes import HOLD_SINGLES, spiked_within

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrandRule:
    """What the pipeline needs to know of a brand."""

    name: str
    terms: TermSet
    routes: tuple[Route, ...]
    alert_threshold: float
    routing: Routing = field(default_factory=Routing)  # questions, praise (bot/team/routing.py)

    def matches(self, text: str) -> bool:
        """Whether a text mentions the brand (a firehose drops the rest before queueing)."""
        return self.terms.match(text) is not None

    @classmethod
    def from_config(cls, brand: BrandConfig, settings: Settings) -> BrandRule:
        threshold = brand.alert_threshold
        return cls(
            name=brand.name,
            terms=TermSet.parse(brand.terms, brand.exclude),
            routes=brand.routes,
            alert_threshold=settings.alert_threshold if threshold is None else threshold,
            routing=BrandPolicy.from_config(brand).routing,
        )


@dataclass(slots=True)
class PipelineReport:
    entries: int = 0
    matched: int = 0
    stored: int = 0  # held-back mentions included
    duplicates: int = 0
    alerts: int = 0
    muted: int = 0
    held_back: int = 0  # stored without an alert by a volume bound
    new_ids: list[int] = field(default_factory=list)

    def add(self, other: PipelineReport) -> None:
        self.entries += other.entries
        self.matched += other.matched
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.alerts += other.alerts
        self.muted += other.muted
        self.held_back += other.held_back
        self.new_ids += other.new_ids


ALERT_WINDOW = timedelta(minutes=1)
HOLD_BACK_CHUNK = 1000  # held-back mentions stored per transaction: others write between
_OLDEST = datetime.min.replace(tzinfo=UTC)


class Pipeline:
    def __init__(
        self,
        store: Store,
        scorer: Scorer,
        clock: Callable[[], datetime],
        *,
        max_new_per_poll: int = 0,
        max_alerts_per_minute: int = 0,
    ) -> None:
        self.store = store
        self.scorer = scorer
        self.clock = clock
        self.max_new_per_poll = max(0, max_new_per_poll)  # 0: no bound
        self.max_alerts_per_minute = max(0, max_alerts_per_minute)

    def process(self, brand: BrandRule, entries: Sequence[RawEntry]) -> PipelineReport:
        report = PipelineReport(entries=len(entries))
        if not entries:
            return report
        # Skip what this source already gave us before paying for scoring; the store's unique
        # keys remain the real guarantee of exactly-once.
        known = self.store.known_ids(entries[0].source, [e.external_id for e in entries])
        candidates: list[tuple[RawEntry, str]] = []
        for entry in entries:
            if entry.external_id in known:
                report.duplicates += 1
                continue
            term = brand.terms.match(entry.title + "\n" + entry.text)
            if term is not None:
                candidates.append((entry, term))
        report.matched = len(candidates)
        if not candidates:
            return report
        held: list[tuple[RawEntry, str]] = []
        if self.max_new_per_poll and len(candidates) > self.max_new_per_poll:
            # The newest are scored and may alert; the rest wait in the store, searchable.
            candidates.sort(key=lambda c: c[0].published_at or _OLDEST, reverse=True)
            candidates, held = (
                candidates[: self.max_new_per_poll],
                candidates[self.max_new_per_poll :],
            )
        # A burst is scored in chunks, likeliest alerts first, each chunk stored and its alerts
        # queued before the next is scored (bot/analysis/burst.py, bench/burst.py).
        for chunk in burst.chunks(self.scorer, candidates, lambda c: _scored_text(c[0])):
            self._score_and_store(brand, chunk, report)
        if held:
            self._hold_back(brand, held, self.clock(), report)
        if report.held_back:
            log.warning(
                "%s: %d new mentions held back by the volume bounds (stored, not alerted; "
                "a summary notice follows)", brand.name, report.held_back,
            )  # fmt: skip
        return report

    def _score_and_store(
        self, brand: BrandRule, candidates: list[tuple[RawEntry, str]], report: PipelineReport
    ) -> None:
        """Score these candidates, route them (mutes, questions, praise), store them and queue
        their alerts within the brand's alert budget."""
        verdicts = self.scorer.score_many([_scored_text(e) for e, _ in candidates])
        now = self.clock()
        mutes = self.store.active_mutes(now, brands=[brand.name])
        batch: list[tuple[Mention, bool]] = []
        extras: list[tuple[Route, ...]] = []
        reaches: list[int | None] = []
        for (entry, term), verdict in zip(candidates, verdicts, strict=True):
            decision = decide(
                brand.routes,
                brand.routing,
                verdict,
                verdict.attention >= brand.alert_threshold,
                mutes=mutes,
                brand=brand.name,
                author=entry.author,
                url=entry.url,
                text=entry.title + "\n" + entry.text,
            )
            mention = mention_of(brand, entry, term, verdict, now, routes=decision.routes)
            mention.muted_by = decision.muted_by
            batch.append((mention, decision.alert))
            extras.append(decision.extra)
            reaches.append(entry.reach)
        # During a spike, its one alert stands for the flood: singles are held, not posted.
        hold = "spike" if spiked_within(self.store, brand.name, now, HOLD_SINGLES) else ""
        added = self.store.add_mentions_within(
            batch,
            brand=brand.name,
            limit=self.max_alerts_per_minute,
            window=ALERT_WINDOW,
            now=now,
            hold=hold,
        )
        for (mention, flagged), (mention_id, alerted), extra, reach in zip(
            batch, added, extras, reaches, strict=True
        ):
            if mention_id is None:
                report.duplicates += 1
                continue
            report.stored += 1
            report.new_ids.append(mention_id)
            report.muted += mention.muted_by is not None
            for route in extra:  # the everything route: posted, not alerted
                self.store.add_delivery(mention_id, route, at=now)
            if reach is not None:  # the first sample of its spread (bot/team/spread.py)
                self.store.record_reach(mention_id, reach, at=now)
            verdict = mention.verdict
            metrics.MENTIONS.labels(brand.name, verdict.sentiment.value, str(flagged).lower()).inc()
            if alerted:
                report.alerts += 1
                log.info(
                    "queued alert for mention %d (%s, %s %.2f)",
                    mention_id, brand.name, verdict.sentiment.value, verdict.attention,
                )  # fmt: skip
            elif flagged:
                report.held_back += 1

    def _hold_back(
        self,
        brand: BrandRule,
        held: list[tuple[RawEntry, str]],
        now: datetime,
        report: PipelineReport,
    ) -> None:
        """Store the mentions over the per-poll bound unscored, a chunk per transaction."""
        verdict = Verdict(
            sentiment=Sentiment.NEUTRAL, score=0.0, p_negative=0.0, attention=0.0,
            scorer="held-back",
            reason=f"not scored: over {self.max_new_per_poll} new mentions in one poll",
        )  # fmt: skip
        for start in range(0, len(held), HOLD_BACK_CHUNK):
            chunk = [
                mention_of(brand, e, t, verdict, now)
                for e, t in held[start : start + HOLD_BACK_CHUNK]
            ]
            ids = self.store.hold_back(
                chunk, reason="per_poll", limit=self.max_new_per_poll, at=now
            )
            stored = [i for i in ids if i is not None]
            report.stored += len(stored)
            report.held_back += len(stored)
            report.duplicates += len(ids) - len(stored)
            report.new_ids += stored


def mention_of(
    brand: BrandRule,
    entry: RawEntry,
    term: str,
    verdict: Verdict,
    now: datetime,
    *,
    routes: tuple[Route, ...] | None = None,
) -> Mention:
    """The mention an entry makes, routed as its brand routes (or as routing decided)."""
    return Mention(
        brand=brand.name,
        source=entry.source,
        external_id=entry.external_id,
        url=entry.url,
        canonical_url=canonical_url(entry.url),
        title=entry.title,
        text=entry.text,
        author=entry.author,
        published_at=entry.published_at,
        fetched_at=now,
        matched_term=term,
        verdict=verdict,
        routes=brand.routes if routes is None else routes,
        text_key=text_key(entry.title, entry.text, entry.author),
    )


def _scored_text(entry: RawEntry) -> str:
    if entry.title and entry.text and not entry.text.startswith(entry.title):
        return entry.title + ". " + entry.text
    return entry.text or entry.title

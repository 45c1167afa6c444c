"""Raw entries in, stored and scored mentions out: match, dedup, language/score, store+queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot import metrics
from bot.analysis.base import Scorer
from bot.config import BrandConfig, Settings
from bot.matching import TermSet, canonical_url, text_key
from bot.models import Mention, RawEntry, Route
from bot.store.base import Store
from bot.team.policy import BrandPolicy, Routing
from bot.team.routing import decide

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrandRule:
    """What the pipeline needs to know of a brand."""

    name: str
    terms: TermSet
    routes: tuple[Route, ...]
    alert_threshold: float
    routing: Routing = field(default_factory=Routing)  # questions, praise (bot/team/routing.py)

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
    stored: int = 0
    duplicates: int = 0
    alerts: int = 0
    muted: int = 0
    new_ids: list[int] = field(default_factory=list)

    def add(self, other: PipelineReport) -> None:
        self.entries += other.entries
        self.matched += other.matched
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.alerts += other.alerts
        self.muted += other.muted
        self.new_ids += other.new_ids


class Pipeline:
    def __init__(self, store: Store, scorer: Scorer, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.scorer = scorer
        self.clock = clock

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
            mention = Mention(
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
                routes=decision.routes,
                text_key=text_key(entry.title, entry.text, entry.author),
                muted_by=decision.muted_by,
            )
            batch.append((mention, decision.alert))
            extras.append(decision.extra)
            reaches.append(entry.reach)
        stored = self.store.add_mentions(batch)
        for (mention, flagged), mention_id, extra, reach in zip(
            batch, stored, extras, reaches, strict=True
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
            if flagged:
                report.alerts += 1
                log.info(
                    "queued alert for mention %d (%s, %s %.2f)",
                    mention_id, brand.name, verdict.sentiment.value, verdict.attention,
                )  # fmt: skip
        return report


def _scored_text(entry: RawEntry) -> str:
    if entry.title and entry.text and not entry.text.startswith(entry.title):
        return entry.title + ". " + entry.text
    return entry.text or entry.title

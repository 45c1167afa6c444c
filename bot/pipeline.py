"""Raw entries in, stored and scored mentions out: match, dedup, language/score, store+queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot import metrics
from bot.analysis import burst
from bot.analysis.base import Scorer
from bot.config import BrandConfig, Settings
from bot.matching import TermSet, canonical_url, text_key
from bot.models import Mention, RawEntry
from bot.store.base import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrandRule:
    """What the pipeline needs to know of a brand."""

    name: str
    terms: TermSet
    channel: str
    alert_threshold: float

    @classmethod
    def from_config(cls, brand: BrandConfig, settings: Settings) -> BrandRule:
        threshold = brand.alert_threshold
        return cls(
            name=brand.name,
            terms=TermSet.parse(brand.terms, brand.exclude),
            channel=brand.channel,
            alert_threshold=settings.alert_threshold if threshold is None else threshold,
        )


@dataclass(slots=True)
class PipelineReport:
    entries: int = 0
    matched: int = 0
    stored: int = 0
    duplicates: int = 0
    alerts: int = 0
    new_ids: list[int] = field(default_factory=list)

    def add(self, other: PipelineReport) -> None:
        self.entries += other.entries
        self.matched += other.matched
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.alerts += other.alerts
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
        # A burst is scored in chunks, likeliest alerts first, each chunk stored and its alerts
        # queued before the next is scored (bot/analysis/burst.py, bench/burst.py).
        for chunk in burst.chunks(self.scorer, candidates, lambda c: _scored_text(c[0])):
            self._score_and_store(brand, chunk, report)
        return report

    def _score_and_store(
        self, brand: BrandRule, candidates: list[tuple[RawEntry, str]], report: PipelineReport
    ) -> None:
        verdicts = self.scorer.score_many([_scored_text(e) for e, _ in candidates])
        now = self.clock()
        batch: list[tuple[Mention, bool]] = []
        for (entry, term), verdict in zip(candidates, verdicts, strict=True):
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
                channel=brand.channel,
                text_key=text_key(entry.title, entry.text, entry.author),
            )
            batch.append((mention, verdict.attention >= brand.alert_threshold))
        for (mention, flagged), mention_id in zip(
            batch, self.store.add_mentions(batch), strict=True
        ):
            if mention_id is None:
                report.duplicates += 1
                continue
            report.stored += 1
            report.new_ids.append(mention_id)
            verdict = mention.verdict
            metrics.MENTIONS.labels(brand.name, verdict.sentiment.value, str(flagged).lower()).inc()
            if flagged:
                report.alerts += 1
                log.info(
                    "queued alert for mention %d (%s, %s %.2f)",
                    mention_id, brand.name, verdict.sentiment.value, verdict.attention,
                )  # fmt: skip


def _scored_text(entry: RawEntry) -> str:
    if entry.title and entry.text and not entry.text.startswith(entry.title):
        return entry.title + ". " + entry.text
    return entry.text or entry.title

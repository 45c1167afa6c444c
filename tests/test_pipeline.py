"""The pipeline: only matching entries count, each once; negatives are queued with them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.analysis import get_scorer
from bot.config import BrandConfig, load_settings
from bot.matching import TermSet
from bot.models import RawEntry, Route, Sentiment, Status
from bot.pipeline import BrandRule, Pipeline
from bot.store import MentionQuery, Store
from tests.conftest import Clock

RULE = BrandRule(
    name="Acme",
    terms=TermSet.parse(["acme"], exclude=["acme markets"]),
    routes=(Route("slack", "#alerts"),),
    alert_threshold=0.05,
)


def entry(n: int, title: str, text: str, url: str = "", source: str = "feed") -> RawEntry:
    return RawEntry(
        source=source,
        external_id=f"id-{n}",
        url=url or f"https://example.com/{n}",
        title=title,
        text=text,
        author="someone",
        published_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    )


ENTRIES = [
    entry(1, "Acme is terrible", "The worst service, my order is broken."),
    entry(2, "Acme opens an office", "They will hire forty engineers."),
    entry(3, "Unrelated", "Nothing about the brand here, awful weather."),
    entry(4, "Bad deals at Acme Markets", "Awful prices."),
    entry(
        5,
        "Acme is terrible",
        "The worst service, my order is broken.",
        url="https://example.com/1?utm_source=x",
    ),
]


def test_only_matching_entries_are_stored_once_and_negatives_queued(
    sqlite_store: Store, clock: Clock
) -> None:
    pipeline = Pipeline(sqlite_store, get_scorer("textblob"), clock)
    report = pipeline.process(RULE, ENTRIES)
    assert (report.entries, report.matched, report.stored, report.duplicates) == (5, 3, 2, 1)
    assert report.alerts == 1
    stored = sqlite_store.find_mentions(MentionQuery())
    by_title = {m.title: m for m in stored}
    assert set(by_title) == {"Acme is terrible", "Acme opens an office"}
    bad = by_title["Acme is terrible"]
    assert bad.verdict.sentiment == Sentiment.NEGATIVE
    assert bad.matched_term == "acme" and bad.routes == (Route("slack", "#alerts"),)
    assert bad.canonical_url == "https://example.com/1"
    assert bad.status == Status.NEW and sqlite_store.pending_count() == 1


def test_processing_the_same_entries_again_adds_nothing(sqlite_store: Store, clock: Clock) -> None:
    pipeline = Pipeline(sqlite_store, get_scorer("textblob"), clock)
    pipeline.process(RULE, ENTRIES)
    again = pipeline.process(RULE, ENTRIES)
    assert (again.stored, again.alerts) == (0, 0)
    assert sqlite_store.pending_count() == 1


def test_brand_threshold_decides_what_is_alerted(sqlite_store: Store, clock: Clock) -> None:
    strict = BrandRule(RULE.name, RULE.terms, RULE.routes, alert_threshold=1.0)
    report = Pipeline(sqlite_store, get_scorer("textblob"), clock).process(strict, ENTRIES)
    assert report.stored == 2 and report.alerts == 0


def test_brand_rule_takes_the_global_threshold_unless_the_brand_sets_one() -> None:
    settings = load_settings(alert_threshold=0.3)
    plain = BrandConfig(name="A", terms=["a"], channel="#a")
    own = BrandConfig(name="B", terms=["b"], channel="#b", alert_threshold=0.7)
    assert BrandRule.from_config(plain, settings).alert_threshold == 0.3
    assert BrandRule.from_config(own, settings).alert_threshold == 0.7


def test_a_disguised_mention_is_matched_and_kept_as_written(
    sqlite_store: Store, clock: Clock
) -> None:
    written = "A\u200bcme lost my parcel, \u0430cme support never answers. Terrible."
    report = Pipeline(sqlite_store, get_scorer("textblob"), clock).process(
        RULE, [entry(9, "", written)]
    )
    assert report.stored == 1
    [mention] = sqlite_store.find_mentions(MentionQuery())
    assert mention.text == written and mention.matched_term == "acme"

"""A burst is scored likeliest alerts first, in chunks, each stored before the next is scored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analysis import burst
from bot.analysis.cascade import CascadeScorer
from bot.matching import TermSet
from bot.models import RawEntry, Route
from bot.pipeline import BrandRule, Pipeline
from bot.store import Store
from tests.conftest import Clock

NEWS = "Acme opens a new distribution centre in Rotterdam, hiring {n} people"
COMPLAINT = "@Acme my order {n} still hasn't arrived after 6 days, worst service ever. Refund?"


class Recorder:
    """A scorer whose triage says which texts it was asked about first (and records calls)."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def triage(self, texts):
        return [self.scores[t] for t in texts]


def test_order_puts_the_likeliest_alerts_first_and_keeps_ties_in_arrival_order():
    texts = [f"t{i}" for i in range(100)]
    scores = {t: (0.9 if i % 10 == 3 else 0.1) for i, t in enumerate(texts)}
    ranked = burst.order(Recorder(scores), texts)
    assert sorted(ranked) == list(range(100))
    assert ranked[:10] == [3, 13, 23, 33, 43, 53, 63, 73, 83, 93]
    assert ranked[10:13] == [0, 1, 2]


def test_a_small_batch_or_a_scorer_without_triage_keeps_the_arrival_order():
    assert burst.order(Recorder({}), ["a", "b"]) == [0, 1]
    assert burst.order(object(), [f"t{i}" for i in range(200)]) == list(range(200))


def test_chunks_cover_every_item_once_with_a_small_first_chunk():
    items = [f"t{i}" for i in range(200)]
    got = list(burst.chunks(Recorder({t: 0.0 for t in items}), items, str))
    assert [len(c) for c in got] == [burst.FIRST_CHUNK] + [burst.CHUNK] * 2 + [200 - 16 - 128]
    assert sorted(x for c in got for x in c) == sorted(items)
    assert list(burst.chunks(object(), [], str)) == []


def _entry(n: int, text: str) -> RawEntry:
    return RawEntry(
        source="feed", external_id=f"id-{n}", url=f"https://example.com/{n}", title="",
        text=text, author="someone", published_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    )  # fmt: skip


@pytest.fixture(scope="module")
def first_stage_only():
    return CascadeScorer(share=0.0)  # USE heads only: fast enough for a test of ordering


def test_the_pipeline_stores_a_bursts_complaints_first(sqlite_store: Store, clock: Clock,
                                                       first_stage_only):  # fmt: skip
    # 100 news items arrive before 16 complaints; the complaints are stored (and queued) first.
    entries = [_entry(n, NEWS.format(n=n)) for n in range(100)]
    entries += [_entry(100 + n, COMPLAINT.format(n=n)) for n in range(burst.FIRST_CHUNK)]
    rule = BrandRule(name="Acme", terms=TermSet.parse(["acme"], exclude=[]),
                     routes=(Route("slack", "#alerts"),), alert_threshold=0.5)  # fmt: skip
    report = Pipeline(sqlite_store, first_stage_only, clock).process(rule, entries)
    assert report.stored == len(entries)
    first = [sqlite_store.get_mention(i) for i in sorted(report.new_ids)[: burst.FIRST_CHUNK]]
    assert all(m is not None and "hasn't arrived" in m.text for m in first)
    assert report.alerts >= burst.FIRST_CHUNK

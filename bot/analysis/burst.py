"""Scoring a burst: the likeliest alerts first, in chunks, so the first alerts leave early.

The pipeline scores and stores a poll's new mentions chunk by chunk (`chunks`); a scorer that
offers `triage(texts)` (a cheap attention estimate, e.g. the fast path's, ~0.2 ms a text) has a
large batch reordered so that the mentions most likely to alert are scored, stored and queued
first. A burst of 1,000 mentions then has its first alerts in chat about a second after the poll
instead of after the whole burst was scored (bench/burst.py measures both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

# The first chunk is small so its alerts go out soon; later ones amortise the store's commit.
FIRST_CHUNK = 16
CHUNK = 64


def order(scorer: object, texts: Sequence[str]) -> list[int]:
    """Indices of `texts`, likeliest alerts first (stable), or as they came when the scorer
    has no cheap triage or the batch fits in one chunk."""
    triage = getattr(scorer, "triage", None)
    if triage is None or len(texts) <= CHUNK:
        return list(range(len(texts)))
    attention = np.asarray(triage(texts), dtype=np.float64)
    return [int(i) for i in np.argsort(-attention, kind="stable")]


def chunks(scorer: object, items: Sequence[T], text_of: Callable[[T], str]) -> Iterator[list[T]]:
    """`items` in the order `order` gives, cut into a small first chunk and CHUNK-sized ones."""
    if len(items) <= CHUNK:
        if items:
            yield list(items)
        return
    ranked = [items[i] for i in order(scorer, [text_of(x) for x in items])]
    yield ranked[:FIRST_CHUNK]
    for start in range(FIRST_CHUNK, len(ranked), CHUNK):
        yield ranked[start : start + CHUNK]

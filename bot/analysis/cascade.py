"""The default scorer ("cascade"): a cheap model decides the easy cases, e5 the hard ones.

Stage one embeds every text with USE (use_embedding.py, ~2 ms a text on one core) and scores it
with the `use` heads. Its confidence is the smaller of the sentiment margin (top probability
minus the runner-up) and the complaint margin (|2·p - 1|). Texts whose confidence falls in the
lowest `share` (setting CASCADE_SHARE) of the confidences seen on the development split go on to
stage two: the `e5` heads (e5 + USE + cues + lexicons), ~40 ms a text. So about `share` of a
typical stream pays for e5 and the rest costs a twentieth; each verdict's `scorer` says which
stage decided (`cascade:use` or `cascade:e5`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from bot.analysis import heads, trained
from bot.analysis.base import register
from bot.models import Verdict

log = logging.getLogger(__name__)

DEFAULT_SHARE = 0.2
QUANTILES = "confidence_quantiles"


def confidence(p_sent: np.ndarray, p_comp: np.ndarray) -> np.ndarray:
    """How sure stage one is of both decisions, 0 (a coin toss) .. 1."""
    top2 = np.sort(p_sent, axis=1)[:, -2:]
    return np.minimum(top2[:, 1] - top2[:, 0], np.abs(2.0 * p_comp - 1.0))


def threshold(quantiles: np.ndarray, share: float) -> float:
    """The confidence under which a text goes to e5, so that `share` of the development
    split's texts would."""
    if share <= 0.0:
        return -1.0
    if share >= 1.0:
        return float("inf")
    return float(np.interp(share, np.linspace(0.0, 1.0, len(quantiles)), quantiles))


def share_from_env() -> float:
    raw = os.environ.get("CASCADE_SHARE", "")
    if not raw.strip():
        return DEFAULT_SHARE
    try:
        share = float(raw)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:  # also refuses nan
        raise ValueError(f"CASCADE_SHARE must be a number from 0 to 1, not {raw!r}")
    return share


class CascadeScorer:
    name = "cascade"

    def __init__(
        self,
        share: float | None = None,
        first: heads.Heads | None = None,
        second: heads.Heads | None = None,
    ) -> None:
        self.share = share_from_env() if share is None else share
        self._first = first or heads.load(heads.FILES["use"])
        self._second = second or heads.load(heads.FILES["e5"])
        self._threshold = threshold(self._first.extra[QUANTILES], self.share)
        self._fast = trained.TrainedScorer("fast", "fast")

    def score(self, text: str) -> Verdict:
        return self.score_many([text])[0]

    def triage(self, texts: Sequence[str]) -> np.ndarray:
        """The fast path's attention: which of a burst to score first (burst.py)."""
        return np.array([v.attention for v in self._fast.score_many(texts)])

    def score_many(self, texts: Sequence[str]) -> list[Verdict]:
        out: list[Verdict] = []
        for i in range(0, len(texts), trained.BATCH):
            chunk = texts[i : i + trained.BATCH]
            try:
                out.extend(self._score_batch(chunk))
            except Exception:
                log.exception("cascade scorer failed on a batch; using the fast path")
                out.extend(self._fast.score_many(chunk))
        return out

    def _score_batch(self, texts: Sequence[str]) -> list[Verdict]:
        blocks, langs = trained.prepare(texts)
        trained.embed_for(blocks, self._first)
        p_sent, p_comp = self._first.predict(blocks, langs)
        hard = np.flatnonzero(confidence(p_sent, p_comp) < self._threshold)
        names = ["cascade:use"] * len(blocks)
        if len(hard):
            try:
                sub = trained.embed_for(blocks.subset(hard), self._second)
                p2, c2 = self._second.predict(sub, sub.langs)
                p_sent[hard], p_comp[hard] = p2, c2
                for i in hard:
                    names[i] = "cascade:e5"
            except Exception:
                # Stage one's verdicts stand: worse on the hard cases, but every text is scored.
                log.exception("e5 failed on %d hard texts; stage one's verdicts stand", len(hard))
        return trained.to_verdicts(names, blocks, p_sent, p_comp)


def _build(cascade_share: float | None = None, **_: object) -> CascadeScorer:
    return CascadeScorer(share=cascade_share)


register("cascade", _build)

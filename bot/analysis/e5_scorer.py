"""The main scorer ("e5"): multilingual-e5-small embeddings + linear heads + language id.

Per text: normalise → cues (features.py) → language (lang.py) → embedding (embedding.py) →
sentiment and complaint heads (heads.py, pure numpy) → Verdict (verdicts.py). If the embedding
engine fails for any reason the batch is scored by the lexicon fast path instead, and the
verdict's `scorer` says so: the protocol promises a verdict for every text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from bot.analysis import embedding, features, heads, lang, verdicts
from bot.analysis.base import register
from bot.models import Verdict

log = logging.getLogger(__name__)

BATCH = 64  # bounds memory for a large batch; the engine's speed barely depends on it


class E5Scorer:
    name = "e5"

    def __init__(self, weights: heads.Heads | None = None) -> None:
        self._heads = weights or heads.load()
        self._fallback: object | None = None

    def score(self, text: str) -> Verdict:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[Verdict]:
        out: list[Verdict] = []
        for i in range(0, len(texts), BATCH):
            chunk = [t if isinstance(t, str) else str(t or "") for t in texts[i : i + BATCH]]
            try:
                out.extend(self._score_batch(chunk))
            except Exception:
                log.exception("e5 scorer failed on a batch; using the lexicon fast path")
                out.extend(self._lexicon().score_many(chunk))
        return out

    def _lexicon(self):  # type: ignore[no-untyped-def]
        if self._fallback is None:
            from bot.analysis.lexicon_scorer import LexiconScorer

            self._fallback = LexiconScorer()
        return self._fallback

    def _score_batch(self, texts: list[str]) -> list[Verdict]:
        clean = [features.normalise(t) for t in texts]
        cues = [features.cues(t) for t in clean]
        langs = [lang.detect(t)[0] for t in clean]
        emb = embedding.embed(clean)
        rules = np.vstack([c.vector for c in cues]).astype(np.float32)
        hashed = [features.hashed_ngrams(t) for t in clean]
        p_sent, p_comp = self._heads.predict(emb, rules, hashed, langs)
        return [
            verdicts.build(
                scorer=self.name,
                lang=lg,
                p_neg=float(p[0]),
                p_neu=float(p[1]),
                p_pos=float(p[2]),
                p_complaint=float(pc),
                cues=c,
            )
            for p, pc, c, lg in zip(p_sent, p_comp, cues, langs, strict=True)
        ]


register("e5", E5Scorer)

"""The scorers built on trained heads: `fast` (no embedding) and `e5` (embeddings + heads).

Per text: normalise → cues and lexicon numbers (design.py) → language (lang.py) → the
embeddings the heads read → heads (heads.py, pure numpy) → Verdict (verdicts.py). If an
embedding engine fails for any reason the batch is scored by the fast path instead, and the
verdict's `scorer` says so: the protocol promises a verdict for every text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from bot.analysis import design, embedding, heads, lang, use_embedding, verdicts
from bot.analysis.base import register
from bot.models import Verdict

log = logging.getLogger(__name__)

BATCH = 64  # bounds memory for a large batch; the engines' speed barely depends on it
EMBEDDERS: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
    "e5": embedding.embed,
    "use": use_embedding.embed,
}


def prepare(texts: Sequence[str], fast: bool = False) -> tuple[design.Blocks, list[str]]:
    """The cheap blocks and the language of each text (everything before an embedding):
    py3langid, or on the fast path a function-word guess (en / nl / und)."""
    blocks = design.cheap_blocks(texts)
    if fast:
        blocks.langs = list(blocks.fast_langs)
    else:
        blocks.langs = [lang.detect(t)[0] for t in blocks.clean]
    return blocks, blocks.langs


def embed_for(blocks: design.Blocks, head_set: heads.Heads) -> design.Blocks:
    """Adds the embeddings `head_set` reads, each only for the texts a head reads it of."""
    for name in head_set.blocks:
        if name in EMBEDDERS:
            rows = head_set.rows_reading(name, blocks.langs)
            design.add_embedding(blocks, name, EMBEDDERS[name], rows)
    return blocks


def to_verdicts(
    scorer: str | Sequence[str], blocks: design.Blocks, p_sent: np.ndarray, p_comp: np.ndarray
) -> list[Verdict]:
    names = [scorer] * len(blocks) if isinstance(scorer, str) else list(scorer)
    return [
        verdicts.build(
            scorer=name,
            lang=lg,
            p_neg=float(p[0]),
            p_neu=float(p[1]),
            p_pos=float(p[2]),
            p_complaint=float(pc),
            cues=c,
        )
        for name, p, pc, c, lg in zip(names, p_sent, p_comp, blocks.cue, blocks.langs, strict=True)
    ]


class TrainedScorer:
    """Heads from one weights file over the blocks it names."""

    def __init__(self, name: str, kind: str, weights: heads.Heads | None = None) -> None:
        self.name = name
        self.kind = kind
        self._heads = weights or heads.load(heads.FILES[kind])
        self._fallback: TrainedScorer | None = None

    def score(self, text: str) -> Verdict:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[Verdict]:
        out: list[Verdict] = []
        for i in range(0, len(texts), BATCH):
            chunk = texts[i : i + BATCH]
            try:
                out.extend(self._score_batch(chunk))
            except Exception:
                if self.kind == "fast":
                    raise
                log.exception("%s scorer failed on a batch; using the fast path", self.name)
                out.extend(self.fast().score_many(chunk))
        return out

    def fast(self) -> TrainedScorer:
        if self._fallback is None:
            self._fallback = TrainedScorer("fast", "fast")
        return self._fallback

    def _score_batch(self, texts: Sequence[str]) -> list[Verdict]:
        blocks, langs = prepare(texts, fast=self.kind == "fast")
        embed_for(blocks, self._heads)
        p_sent, p_comp = self._heads.predict(blocks, langs)
        return to_verdicts(self.name, blocks, p_sent, p_comp)


class EmbeddingScorer(TrainedScorer):
    """A trained scorer that embeds: slow enough that a burst is worth ordering first."""

    def triage(self, texts: Sequence[str]) -> np.ndarray:
        """The fast path's attention: which of a burst to score first (burst.py)."""
        return np.array([v.attention for v in self.fast().score_many(texts)])


register("fast", lambda **_: TrainedScorer("fast", "fast"))
# The fast path's old name: the hand-set lexicon rules it replaced answered to `lexicon`.
register("lexicon", lambda **_: TrainedScorer("lexicon", "fast"))
register("e5", lambda **_: EmbeddingScorer("e5", "e5"))

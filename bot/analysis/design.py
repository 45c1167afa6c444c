"""The features every trained head reads, computed once per text and shared by all scorers.

A text becomes named blocks: `cues` (features.py, 18 rules), `lex` (lexicons.py, 13 lexicon
numbers), `use` (512-d USE embedding), `e5` (384-d e5 embedding) and the hashed word n-grams.
A head is a linear map from the blocks it names (its `Spec`) to its logits; the same code builds
the training matrix (scipy, training.py) and the run-time product (numpy, heads.py), so the two
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.analysis import features, lexicons

# Each block is scaled so that one regularisation strength suits all of them: the embeddings are
# unit-length (each coordinate about 0.05), the rules and lexicon numbers are about 0..2.
BLOCK_SCALE = {"e5": 4.0, "use": 4.0, "cues": 1.0, "lex": 1.0}
BLOCK_DIM = {
    "e5": 384,
    "use": 512,
    "cues": len(features.RULE_NAMES),
    "lex": len(lexicons.LEXICON_NAMES),
}
# The hashed n-grams are weighted up against the dense blocks (chosen on the development split).
HASH_SCALE = 2.5


@dataclass(slots=True)
class Blocks:
    """The blocks of a batch of texts. Embeddings are filled only when a head needs them."""

    clean: list[str]
    cue: list[features.Cues]
    dense: dict[str, np.ndarray] = field(default_factory=dict)
    hashed: list[np.ndarray] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)
    fast_langs: list[str] = field(default_factory=list)  # lexicons.fast_language

    def __len__(self) -> int:
        return len(self.clean)

    def subset(self, idx: Sequence[int] | np.ndarray) -> Blocks:
        ix = np.asarray(idx, dtype=np.int64)
        return Blocks(
            clean=[self.clean[i] for i in ix],
            cue=[self.cue[i] for i in ix],
            dense={k: v[ix] for k, v in self.dense.items()},
            hashed=[self.hashed[i] for i in ix],
            langs=[self.langs[i] for i in ix] if self.langs else [],
            fast_langs=[self.fast_langs[i] for i in ix] if self.fast_langs else [],
        )


def cheap_blocks(texts: Sequence[str]) -> Blocks:
    """Clean-up, cues, lexicon numbers and hashed n-grams: everything but the embeddings."""
    clean = [features.normalise(t if isinstance(t, str) else str(t or "")) for t in texts]
    cue = [features.cues(t) for t in clean]
    rules = np.array([c.vector for c in cue], dtype=np.float32).reshape(-1, BLOCK_DIM["cues"])
    lexical = [lexicons.vector(t, c.tokens) for t, c in zip(clean, cue, strict=True)]
    lex = np.array([v for v, _ in lexical], dtype=np.float32).reshape(-1, BLOCK_DIM["lex"])
    hashed = [features.hashed_ngrams(t, c.tokens) for t, c in zip(clean, cue, strict=True)]
    return Blocks(
        clean=clean,
        cue=cue,
        dense={"cues": rules, "lex": lex},
        hashed=hashed,
        fast_langs=[lg for _, lg in lexical],
    )


def add_embedding(
    blocks: Blocks,
    name: str,
    embed: Callable[[Sequence[str]], np.ndarray],
    rows: np.ndarray,
) -> Blocks:
    """Embeds the texts of `rows` (a mask) into block `name`, leaving zeros in the rows no
    head will read (the Dutch texts, for the English head's USE block). A block already there
    is kept: the cascade's second stage reuses its first stage's."""
    if name in blocks.dense:
        return blocks
    if rows.all():
        blocks.dense[name] = np.asarray(embed(blocks.clean), dtype=np.float32)
        return blocks
    out = np.zeros((len(blocks), BLOCK_DIM[name]), dtype=np.float32)
    picked = np.flatnonzero(rows)
    if len(picked):  # no call into an engine for nothing
        out[picked] = embed([blocks.clean[i] for i in picked])
    blocks.dense[name] = out
    return blocks


def dense(blocks: Blocks, names: Sequence[str]) -> np.ndarray:
    """The dense part of the design, blocks scaled and side by side, in the order of `names`."""
    parts = [blocks.dense[n] * BLOCK_SCALE[n] for n in names]
    if not parts:
        return np.zeros((len(blocks), 0), dtype=np.float32)
    return np.hstack(parts).astype(np.float32)


def hash_weight(ids: np.ndarray) -> float:
    return HASH_SCALE / float(np.sqrt(len(ids))) if len(ids) else 0.0

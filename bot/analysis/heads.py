"""The trained linear heads: pure numpy at run time (no scikit-learn).

A weights file (`*.npz` beside this module) holds three heads (English sentiment, Dutch
sentiment, complaint); each reads the feature blocks it names (design.py) and has the weights
of those dense blocks, of the hashed n-grams and a bias. `training.py` writes the files (the
blocks of each head are in its `RECIPES`); this module only reads them. Files:

- `fast.npz`  the fast path (`SCORER=fast`): cues and lexicons, no embedding
- `use.npz`   the cascade's first stage: USE for English, the fast path's blocks for Dutch
- `heads.npz` e5 (`SCORER=e5`, and the cascade's second stage)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.analysis import design, embedding, features, lexicons

HERE = Path(__file__).parent
WEIGHTS_FILE = HERE / "heads.npz"
FILES = {"fast": HERE / "fast.npz", "use": HERE / "use.npz", "e5": WEIGHTS_FILE}
HEAD_NAMES = ("sentiment_en", "sentiment_nl", "complaint")


@dataclass(frozen=True, slots=True)
class Head:
    blocks: tuple[str, ...]  # the dense blocks it reads, in order
    w_dense: np.ndarray  # (sum of the blocks' dims, k)
    w_hash: np.ndarray  # (HASH_DIM, k)
    bias: np.ndarray  # (k,)

    def logits(self, blocks: design.Blocks) -> np.ndarray:
        out = design.dense(blocks, self.blocks) @ self.w_dense + self.bias
        for i, ids in enumerate(blocks.hashed):
            if len(ids):
                out[i] += self.w_hash[ids].sum(axis=0) * design.hash_weight(ids)
        return out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(frozen=True, slots=True)
class Heads:
    # Sentiment has one head per language family: the Dutch restaurant sentences and the English
    # tweets disagree on what "neutral" is, and pooling them cost 2-5 points on each in
    # cross-validation. Any language but Dutch uses the English head (the embeddings are
    # multilingual, so it transfers).
    sentiment_en: Head  # 3 outputs: negative, neutral, positive
    sentiment_nl: Head
    complaint: Head  # 1 output
    meta: dict[str, str]
    # Anything else a scorer reads from the same file (the cascade's confidence quantiles).
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def blocks(self) -> tuple[str, ...]:
        """Every block any of the heads reads."""
        names = [
            b for h in (self.sentiment_en, self.sentiment_nl, self.complaint) for b in h.blocks
        ]
        return tuple(dict.fromkeys(names))

    def sentiment_routes(self, langs: Sequence[str]) -> tuple[tuple[Head, np.ndarray], ...]:
        """Each sentiment head with the texts it scores: Dutch ones the Dutch head, every
        other language the English head."""
        is_nl = np.array([lg == "nl" for lg in langs], dtype=bool)
        return ((self.sentiment_en, ~is_nl), (self.sentiment_nl, is_nl))

    def rows_reading(self, block: str, langs: Sequence[str]) -> np.ndarray:
        """Which texts some head reads `block` of, given their languages."""
        rows = np.full(len(langs), block in self.complaint.blocks)  # it reads every text
        for head, routed in self.sentiment_routes(langs):
            if block in head.blocks:
                rows |= routed
        return rows

    def predict(self, blocks: design.Blocks, langs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) sentiment probabilities and (n,) complaint probabilities."""
        z = np.zeros((len(blocks), 3), dtype=np.float32)
        for head, rows in self.sentiment_routes(langs):
            if rows.any():
                z[rows] = head.logits(blocks if rows.all() else blocks.subset(np.flatnonzero(rows)))
        pc = sigmoid(self.complaint.logits(blocks)[:, 0])
        return softmax(z), pc


def save(path: Path, heads: Heads) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name in HEAD_NAMES:
        head: Head = getattr(heads, name)
        arrays[f"{name}_blocks"] = np.array(head.blocks, dtype=str)
        arrays[f"{name}_dense"] = head.w_dense.astype(np.float32)
        # float16 halves the file; the rounding moves a probability by well under 0.001.
        arrays[f"{name}_hash"] = head.w_hash.astype(np.float16)
        arrays[f"{name}_bias"] = head.bias.astype(np.float32)
    arrays["rule_names"] = np.array(features.RULE_NAMES)
    arrays["lexicon_names"] = np.array(lexicons.LEXICON_NAMES)
    arrays["meta"] = np.array([f"{k}={v}" for k, v in sorted(heads.meta.items())])
    for key, value in heads.extra.items():
        arrays[f"extra_{key}"] = np.asarray(value)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]


def load(path: Path = WEIGHTS_FILE) -> Heads:
    with np.load(path) as z:
        if (
            tuple(str(x) for x in z["rule_names"]) != features.RULE_NAMES
            or tuple(str(x) for x in z["lexicon_names"]) != lexicons.LEXICON_NAMES
        ):
            raise ValueError(f"{path} was trained with other features; run `train` again")
        made = {
            name: Head(
                blocks=tuple(str(x) for x in z[f"{name}_blocks"]),
                w_dense=z[f"{name}_dense"].astype(np.float32),
                w_hash=z[f"{name}_hash"].astype(np.float32),
                bias=z[f"{name}_bias"].astype(np.float32),
            )
            for name in HEAD_NAMES
        }
        meta = dict(str(x).split("=", 1) for x in z["meta"])
        extra = {k[len("extra_") :]: z[k] for k in z.files if k.startswith("extra_")}
    fitted_on = meta.get("encoder")
    if fitted_on is not None and fitted_on != embedding.encoder_tag():
        raise ValueError(
            f"{path} was fitted on the {fitted_on} encoder, but the encoder here is "
            f"{embedding.encoder_tag()} (bot/analysis/e5_adapter.npz); run `train` again"
        )
    return Heads(meta=meta, extra=extra, **made)

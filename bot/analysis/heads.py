"""The linear heads on top of the e5 embedding: pure numpy at run time (no scikit-learn).

One weights file, `heads.npz`, holds for each head the weights of three feature blocks (the
384-d embedding, the rule cues of `features.py`, a hashed bag of word n-grams) and a bias.
`training.py` writes it; this module only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.analysis import features

WEIGHTS_FILE = Path(__file__).with_name("heads.npz")
HEAD_NAMES = ("sentiment_en", "sentiment_nl", "complaint")

# The embedding is unit-length (each coordinate about 0.05); scaling it up lets one
# regularisation strength suit all three blocks.
EMB_SCALE = 4.0
# The hashed n-grams are weighted up against the embedding (chosen by cross-validation).
HASH_SCALE = 2.5


@dataclass(frozen=True, slots=True)
class Head:
    w_emb: np.ndarray  # (384, k)
    w_rule: np.ndarray  # (n_rules, k)
    w_hash: np.ndarray  # (HASH_DIM, k)
    bias: np.ndarray  # (k,)

    def logits(self, emb: np.ndarray, rules: np.ndarray, hashed: list[np.ndarray]) -> np.ndarray:
        out = (emb * EMB_SCALE) @ self.w_emb + rules @ self.w_rule + self.bias
        for i, ids in enumerate(hashed):
            if len(ids):
                out[i] += self.w_hash[ids].sum(axis=0) * (HASH_SCALE / np.sqrt(len(ids)))
        return out


@dataclass(frozen=True, slots=True)
class Heads:
    # Sentiment has one head per language family: the Dutch restaurant sentences and the English
    # tweets disagree on what "neutral" is, and pooling them cost 2-5 points on each in
    # cross-validation. Any language but Dutch uses the English head (the embedding is
    # multilingual, so it transfers).
    sentiment_en: Head  # 3 outputs: negative, neutral, positive
    sentiment_nl: Head
    complaint: Head  # 1 output

    def predict(
        self, emb: np.ndarray, rules: np.ndarray, hashed: list[np.ndarray], langs: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) sentiment probabilities and (n,) complaint probabilities."""
        z_en = self.sentiment_en.logits(emb, rules, hashed)
        z_nl = self.sentiment_nl.logits(emb, rules, hashed)
        is_nl = np.array([lg == "nl" for lg in langs], dtype=bool)[:, None]
        z = np.where(is_nl, z_nl, z_en)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        c = self.complaint.logits(emb, rules, hashed)[:, 0]
        pc = 1.0 / (1.0 + np.exp(-np.clip(c, -30, 30)))
        return p, pc


def save(path: Path, heads: Heads, meta: dict[str, str]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name in HEAD_NAMES:
        head: Head = getattr(heads, name)
        arrays[f"{name}_emb"] = head.w_emb.astype(np.float32)
        arrays[f"{name}_rule"] = head.w_rule.astype(np.float32)
        # float16 halves the file; the rounding moves a probability by well under 0.001.
        arrays[f"{name}_hash"] = head.w_hash.astype(np.float16)
        arrays[f"{name}_bias"] = head.bias.astype(np.float32)
    arrays["rule_names"] = np.array(features.RULE_NAMES)
    arrays["meta"] = np.array([f"{k}={v}" for k, v in sorted(meta.items())])
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)


def load(path: Path = WEIGHTS_FILE) -> Heads:
    with np.load(path) as z:
        names = tuple(str(x) for x in z["rule_names"])
        if names != features.RULE_NAMES:
            raise ValueError(f"{path} was trained with other rule features; run `train` again")
        made = {}
        for name in HEAD_NAMES:
            made[name] = Head(
                w_emb=z[f"{name}_emb"].astype(np.float32),
                w_rule=z[f"{name}_rule"].astype(np.float32),
                w_hash=z[f"{name}_hash"].astype(np.float32),
                bias=z[f"{name}_bias"].astype(np.float32),
            )
    return Heads(**made)

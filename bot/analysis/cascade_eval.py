"""The cascade's figures and its share threshold, from the same splits as every other figure.

A report row's cascade verdict is put together from out-of-fold predictions: stage one's
(`use` heads) decides unless its confidence is under the threshold, then stage two's (`e5`
heads). The confidence needs both a sentiment and a complaint probability of every row; the
head that was not trained on a set (the complaint head on a sentiment set and the other way
round) never saw its rows, so the full head scores them. The threshold comes from the
confidence quantiles stored in `use.npz`, which `train` computes on the development split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.analysis import cascade, data, heads, protocol, training


def cross_task(kind: str, d: data.Dataset, want: str) -> np.ndarray:
    """Probabilities of the head that was not trained on `d` (`want`: "sentiment" or
    "complaint"), from the shipped weights of `kind`."""
    head_set = heads.load(heads.FILES[kind])
    b = training.blocks_of(d, head_set.blocks)
    langs = ["nl" if d.name in training.NL_SETS else "en"] * len(d.texts)
    p_sent, p_comp = head_set.predict(b, langs)
    return p_sent if want == "sentiment" else p_comp


def confidence_of(kind: str, oof: dict[str, np.ndarray], base: Path | None) -> dict:
    out = {}
    for name, proba in oof.items():
        d = data.load(name, base)
        if name == "complaints":
            out[name] = cascade.confidence(cross_task(kind, d, "sentiment"), proba)
        else:
            out[name] = cascade.confidence(proba, cross_task(kind, d, "complaint"))
    return out


def out_of_fold(
    base: Path | None = None, share: float | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per data set, the cascade's out-of-fold probabilities (NaN on development rows) and the
    share of report rows that went to e5."""
    share = cascade.share_from_env() if share is None else share
    first = protocol.out_of_fold("use", base)
    second = protocol.out_of_fold("e5", base)
    conf = confidence_of("use", first, base)
    limit = cascade.threshold(heads.load(heads.FILES["use"]).extra[cascade.QUANTILES], share)
    probs: dict[str, np.ndarray] = {}
    shares: dict[str, float] = {}
    for name, p1 in first.items():
        hard = conf[name] < limit
        probs[name] = np.where(hard if p1.ndim == 1 else hard[:, None], second[name], p1)
        report = ~np.isnan(p1 if p1.ndim == 1 else p1[:, 0])
        shares[name] = float(hard[report].mean())
    return probs, shares


def development_quantiles(base: Path | None = None) -> np.ndarray:
    """101 quantiles of stage one's confidence on the development rows of all four sets, each
    scored by heads fitted on the other rows: what CASCADE_SHARE is turned into a threshold
    with."""
    from threadpoolctl import threadpool_limits

    recipe = training.RECIPES["use"]
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = {
            name: t.fit(c, ~np.concatenate([protocol.dev_mask(d) for d in t.sets]))
            for name, (t, c) in training.tasks(recipe, base).items()
        }
    pooled = []
    for name in data.DATASETS:
        d = data.load(name, base)
        b = training.blocks_of(d, recipe.blocks).subset(np.flatnonzero(protocol.dev_mask(d)))
        head = "sentiment_nl" if name in training.NL_SETS else "sentiment_en"
        x_sent = training.matrix(b, getattr(recipe, head).blocks)
        x_comp = training.matrix(b, recipe.complaint.blocks)
        p_comp = fitted["complaint"].predict_proba(x_comp)[:, 1]
        pooled.append(cascade.confidence(fitted[head].predict_proba(x_sent), p_comp))
    return np.quantile(np.concatenate(pooled), np.linspace(0.0, 1.0, 101)).astype(np.float32)

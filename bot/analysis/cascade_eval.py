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
    first, second = protocol.out_of_fold("use", base), protocol.out_of_fold("e5", base)
    return combine(first, second, confidence_of("use", first, base), limit_of(share))


def limit_of(share: float) -> float:
    """The confidence under which a text goes on, for `share` (quantiles in use.npz)."""
    return cascade.threshold(heads.load(heads.FILES["use"]).extra[cascade.QUANTILES], share)


def combine(
    first: dict[str, np.ndarray],
    second: dict[str, np.ndarray],
    conf: dict[str, np.ndarray],
    limit: float,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Stage one's probabilities where its confidence reaches `limit` (limit_of), stage two's
    elsewhere; and the share of the scored (non-NaN) rows that went to stage two."""
    probs: dict[str, np.ndarray] = {}
    shares: dict[str, float] = {}
    for name, p1 in first.items():
        hard = conf[name] < limit
        probs[name] = np.where(hard if p1.ndim == 1 else hard[:, None], second[name], p1)
        scored = ~np.isnan(p1 if p1.ndim == 1 else p1[:, 0])
        shares[name] = float(hard[scored].mean())
    return probs, shares


# The four figures the cascade must match e5 on: (data set, metric).
PARITY = (
    ("complaints", "complaint_f1"),
    ("airline", "neg_f1"),
    ("tweeteval", "recall3"),
    ("absa-nl", "neg_f1"),
)
SHARES = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def development_curve(
    base: Path | None = None, shares: tuple[float, ...] = SHARES
) -> dict[float, dict[str, float]]:
    """The four parity figures of the cascade at each share, and of e5 alone (key 1.0), on the
    development split (frozen e5, heads fitted on the other rows): the trade-off
    docs/detection.md shows. At 1.0 every text goes on: e5 alone."""
    from bot.analysis import evaluate

    first = protocol.development("use", base)
    second = protocol.development("e5", base)
    conf = confidence_of("use", first, base)
    curve: dict[float, dict[str, float]] = {}
    for share in (*shares, 1.0):
        m = evaluate._metrics(combine(first, second, conf, limit_of(share))[0], base)
        curve[share] = {ds: m[ds][key] for ds, key in PARITY}
    return curve


def parity_share(curve: dict[float, dict[str, float]]) -> float | None:
    """The smallest share whose figures reach e5's on every set, or None."""
    e5 = curve[1.0]
    for share in sorted(s for s in curve if s < 1.0):
        if all(round(curve[share][ds], 1) >= round(e5[ds], 1) for ds, _ in PARITY):
            return share
    return None


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


def main() -> int:
    curve = development_curve()
    print("share | " + " | ".join(ds for ds, _ in PARITY))
    for share, figs in curve.items():
        label = "e5" if share == 1.0 else f"{share:.2f}"
        print(f"{label} | " + " | ".join(f"{figs[ds]:.1f}" for ds, _ in PARITY))
    print(f"smallest share at e5's figures on every set: {parity_share(curve)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

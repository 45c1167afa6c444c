"""Fitting the heads (needs the `train` extra: scikit-learn). Deterministic: fixed seeds, lbfgs.

`train(kind)` reproduces `heads.FILES[kind]` exactly from ../shared/data (plus, optionally, a
brand's own labels), given the same scikit-learn, scipy and numpy. The settings below were
chosen on the fixed development split of `protocol.py` (`protocol.development`; the grid is in
docs/detection.md), never on the folds the figures are reported from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from bot.analysis import data, design, embedding, features, heads, use_embedding
from bot.analysis.embedding import embed_cached

SEED = 13
EN_SETS = ("airline", "tweeteval")
NL_SETS = ("absa-nl",)


@dataclass(frozen=True, slots=True)
class HeadRecipe:
    blocks: tuple[str, ...]  # the dense blocks it reads (design.py); n-grams always
    c: float  # inverse regularisation strength


@dataclass(frozen=True, slots=True)
class Recipe:
    """What one weights file is trained from, and with which settings."""

    sentiment_en: HeadRecipe
    sentiment_nl: HeadRecipe
    complaint: HeadRecipe
    # Airline tweets outnumber TweetEval 6 to 1; unweighted, the English head learns the airline
    # notion of "neutral". General tweets are closer to what a brand's mentions look like, so a
    # TweetEval row weighs more.
    tweeteval_weight: float = 4.0

    @property
    def blocks(self) -> tuple[str, ...]:
        heads_ = (self.sentiment_en, self.sentiment_nl, self.complaint)
        return tuple(dict.fromkeys(b for h in heads_ for b in h.blocks))


CHEAP = ("cues", "lex")
# Chosen on the development split (docs/detection.md has the grid): USE helps the English heads
# of the first stage but not the Dutch one (1,300 training sentences; the fast path's blocks do
# better there), e5 + USE helps the English sentiment head of the second stage only.
RECIPES = {
    "fast": Recipe(HeadRecipe(CHEAP, 0.3), HeadRecipe(CHEAP, 0.3), HeadRecipe(CHEAP, 0.3)),
    "use": Recipe(
        HeadRecipe(("use", *CHEAP), 0.3), HeadRecipe(CHEAP, 0.3), HeadRecipe(("use", *CHEAP), 0.3)
    ),
    "e5": Recipe(
        HeadRecipe(("e5", "use", *CHEAP), 0.1),
        HeadRecipe(("e5", *CHEAP), 0.1),
        HeadRecipe(("e5", *CHEAP), 0.3),
    ),
}


_cheap: dict[tuple[str, int], design.Blocks] = {}


def blocks_of(
    d: data.Dataset, names: Sequence[str], e5_adapter: Path | None = embedding.ADAPTER
) -> design.Blocks:
    """The blocks of a data set's texts, embeddings from the cache (train/eval only); e5
    through `e5_adapter` (None: the frozen encoder). The cheap blocks of a set are computed
    once per process: each is read by several heads and folds."""
    key = (d.name, hash(tuple(d.texts)))
    if key not in _cheap:
        _cheap[key] = design.cheap_blocks(d.texts)
    cached = _cheap[key]
    b = design.Blocks(
        clean=cached.clean, cue=cached.cue, dense=dict(cached.dense), hashed=cached.hashed,
        fast_langs=cached.fast_langs,
    )  # fmt: skip
    if "e5" in names:
        b.dense["e5"] = embed_cached(
            b.clean,
            d.name,
            embedder=embedding.embedder(e5_adapter),
            tag=embedding.adapter_tag(e5_adapter),
        )
    if "use" in names:
        b.dense["use"] = embed_cached(b.clean, d.name, embedder=use_embedding.embed, tag="use3")
    return b


def matrix(b: design.Blocks, names: Sequence[str]) -> sparse.csr_matrix:
    """The design matrix in the layout `heads.Head` expects: [dense blocks | hashed n-grams]."""
    rows, cols, vals = [], [], []
    for i, ids in enumerate(b.hashed):
        rows.extend([i] * len(ids))
        cols.extend(ids.tolist())
        vals.extend([design.hash_weight(ids)] * len(ids))
    hashed = sparse.csr_matrix(
        (vals, (rows, cols)), shape=(len(b), features.HASH_DIM), dtype=np.float32
    )
    return sparse.hstack([sparse.csr_matrix(design.dense(b, names)), hashed], format="csr")


def _lr(c: float) -> LogisticRegression:
    # class_weight="balanced": the negative class is a minority in TweetEval (16 %) and macro
    # recall is the metric; it also makes p_complaint less shy on a complaint-poor stream.
    return LogisticRegression(
        C=c, max_iter=5000, solver="lbfgs", class_weight="balanced", random_state=SEED
    )


@dataclass(slots=True)
class Task:
    """One head's training data: the design matrix, labels, row weights, and the data set
    and group of each row (for the split protocol)."""

    x: sparse.csr_matrix
    y: np.ndarray
    w: np.ndarray
    sets: list[data.Dataset]

    def fit(self, c: float, rows: np.ndarray | None = None) -> LogisticRegression:
        if rows is None:
            return _lr(c).fit(self.x, self.y, sample_weight=self.w)
        return _lr(c).fit(self.x[rows], self.y[rows], sample_weight=self.w[rows])


def task(
    sets: Sequence[data.Dataset],
    recipe: Recipe,
    head: str,
    e5_adapter: Path | None = embedding.ADAPTER,
) -> Task:
    names = getattr(recipe, head).blocks
    kind = "complaint" if head == "complaint" else "sentiment"
    xs = [matrix(blocks_of(d, names, e5_adapter), names) for d in sets]
    if kind == "complaint":
        y = np.concatenate([[lab == "complaint" for lab in d.labels] for d in sets])
        w = np.ones(len(y))
    else:
        y = np.concatenate([[data.SENTIMENT_LABELS.index(lab) for lab in d.labels] for d in sets])
        w = np.concatenate(
            [[recipe.tweeteval_weight if d.name == "tweeteval" else 1.0] * len(d.texts)
             for d in sets]
        )  # fmt: skip
    return Task(sparse.vstack(xs, format="csr"), y.astype(int), w.astype(float), list(sets))


def tasks(
    recipe: Recipe,
    base: Path | None = None,
    labels_file: Path | None = None,
    e5_adapter: Path | None = embedding.ADAPTER,
) -> dict:
    """The three heads' training data, keyed like heads.HEAD_NAMES, with their C; e5 through
    `e5_adapter` (None: the frozen encoder)."""
    en = [data.load(n, base) for n in EN_SETS]
    nl = [data.load(n, base) for n in NL_SETS]
    comp = [data.load("complaints", base)]
    if labels_file is not None:
        extra_en, extra_nl, extra_comp = data.split_labels(labels_file)
        en, nl, comp = en + extra_en, nl + extra_nl, comp + extra_comp
    sets = {"sentiment_en": en, "sentiment_nl": nl, "complaint": comp}
    return {
        name: (task(s, recipe, name, e5_adapter), getattr(recipe, name).c)
        for name, s in sets.items()
    }


def to_head(model: LogisticRegression, names: tuple[str, ...]) -> heads.Head:
    coef = model.coef_.T  # (n_features, k); a binary model has one column
    n_dense = sum(design.BLOCK_DIM[b] for b in names)
    return heads.Head(
        blocks=names,
        w_dense=np.asarray(coef[:n_dense], dtype=np.float32),
        w_hash=np.asarray(coef[n_dense:], dtype=np.float32),
        bias=np.asarray(model.intercept_, dtype=np.float32),
    )


def train(
    kind: str = "e5",
    out: Path | None = None,
    labels_file: Path | None = None,
    base: Path | None = None,
) -> Path:
    """Fit the three heads of `kind` on all the shared data (plus a brand's labels) and write
    the weights file.

    BLAS runs on one thread while fitting: lbfgs follows a slightly different path when the
    dot products are summed in another order, and the weights then differ in the 3rd decimal
    (measured: 1 vs 2 OpenBLAS threads), so "reproduces exactly" needs a fixed thread count."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _train(kind, out or heads.FILES[kind], labels_file, base)


def _train(kind: str, out: Path, labels_file: Path | None, base: Path | None) -> Path:
    recipe = RECIPES[kind]
    made = {}
    rows = 0
    for name, (t, c) in tasks(recipe, base, labels_file).items():
        made[name] = to_head(t.fit(c), getattr(recipe, name).blocks)
        rows += len(t.y)
    meta = {
        "seed": str(SEED),
        "recipe": repr(recipe),
        "hash_scale": str(design.HASH_SCALE),
        "rows": str(rows),
    }
    if "e5" in recipe.blocks:  # heads fitted on one encoder's embeddings fit no other
        meta["encoder"] = embedding.encoder_tag()
    extra = {}
    if kind == "use":  # the cascade's first stage: where to cut for a given CASCADE_SHARE
        from bot.analysis import cascade, cascade_eval

        extra[cascade.QUANTILES] = cascade_eval.development_quantiles(base)
    heads.save(out, heads.Heads(meta=meta, extra=extra, **made))
    return out

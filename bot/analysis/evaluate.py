"""`eval`: every scorer side by side on every shared data set, with the split each figure is from.

Every figure is on the report rows (protocol.py: the rows outside the development split). The
trained scorers' figures are out-of-fold: 10-fold stratified CV on the complaints set (the
literature's protocol), 5-fold CV on the sentiment sets (the Dutch set split by review); no row
is ever scored by a head that was trained on it, and no setting was chosen on these rows.
TextBlob learns nothing and is scored as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.analysis import data
from bot.models import Verdict

SENTIMENT_SETS = ("airline", "tweeteval", "absa-nl")


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 of a binary task (mean of the F1 of each class), in percent."""
    scores = []
    for cls in (True, False):
        tp = np.sum((y_pred == cls) & (y_true == cls))
        fp = np.sum((y_pred == cls) & (y_true != cls))
        fn = np.sum((y_pred != cls) & (y_true == cls))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return 100.0 * float(np.mean(scores))


def macro_recall(y_true: np.ndarray, y_pred: np.ndarray, k: int = 3) -> float:
    return 100.0 * float(np.mean([np.mean(y_pred[y_true == c] == c) for c in range(k)]))


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error (percent): |accuracy - confidence| averaged over 10 equal bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(correct[m].mean() - confidence[m].mean())
    return 100.0 * total


def binary_ece(p: np.ndarray, y: np.ndarray) -> float:
    pred = p >= 0.5
    return ece(np.where(pred, p, 1 - p), pred == y)


def sentiment_metrics(
    proba: np.ndarray, labels: Sequence[str], pred: np.ndarray | None = None
) -> dict[str, float]:
    """`pred` defaults to the most probable class; the baseline passes its own verdicts."""
    y = np.array([data.SENTIMENT_LABELS.index(lab) for lab in labels])
    pred = proba.argmax(axis=1) if pred is None else pred
    return {
        "neg_f1": macro_f1(y == 0, pred == 0),
        "recall3": macro_recall(y, pred),
        "ece": ece(proba.max(axis=1), pred == y),
    }


def complaint_metrics(p: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    y = np.array([lab == "complaint" for lab in labels])
    return {"complaint_f1": macro_f1(y, p >= 0.5), "ece": binary_ece(p, y)}


def _probs(verdicts: Sequence[Verdict]) -> np.ndarray:
    return np.array([[v.p_negative, v.p_neutral, v.p_positive] for v in verdicts])


def _report_rows(d: data.Dataset) -> data.Dataset:
    from bot.analysis import protocol

    keep = np.flatnonzero(~protocol.dev_mask(d))
    pick = [d.ids, d.texts, d.labels, d.groups]
    return data.Dataset(d.name, d.kind, *([col[i] for i in keep] for col in pick))


def untrained(name: str, base: Path | None = None) -> dict[str, dict[str, float]]:
    """Figures of a scorer that learnt nothing from the shared data, on the report rows."""
    from bot.analysis import get_scorer

    scorer = get_scorer(name)
    out: dict[str, dict[str, float]] = {}
    for ds in SENTIMENT_SETS:
        d = _report_rows(data.load(ds, base))
        verdicts = scorer.score_many(d.texts)
        pred = np.array([data.SENTIMENT_LABELS.index(str(v.sentiment)) for v in verdicts])
        out[ds] = sentiment_metrics(_probs(verdicts), d.labels, pred)
    d = _report_rows(data.load("complaints", base))
    verdicts = scorer.score_many(d.texts)
    # TextBlob has no complaint notion: its "negative" verdict stands in for one (as the issue's
    # 59.7 baseline does).
    p = np.array(
        [
            v.p_complaint if name != "textblob" else float(v.sentiment == "negative")
            for v in verdicts
        ]
    )
    out["complaints"] = complaint_metrics(p, d.labels)
    return out


def _metrics(probs: dict[str, np.ndarray], base: Path | None) -> dict[str, dict[str, float]]:
    """Figures of out-of-fold probabilities, on the report rows (the others are NaN)."""
    out: dict[str, dict[str, float]] = {}
    for ds, proba in probs.items():
        d = data.load(ds, base)
        keep = ~np.isnan(proba if proba.ndim == 1 else proba[:, 0])
        labels = [lab for lab, k in zip(d.labels, keep, strict=True) if k]
        if ds == "complaints":
            out[ds] = complaint_metrics(proba[keep], labels)
        else:
            out[ds] = sentiment_metrics(proba[keep], labels)
    return out


def trained_oof(
    kind: str, base: Path | None = None, e5: str = "shipped"
) -> dict[str, dict[str, float]]:
    from bot.analysis import protocol

    return _metrics(protocol.out_of_fold(kind, base, e5=e5), base)


def cascade_oof(base: Path | None = None) -> dict[str, dict[str, float]]:
    from bot.analysis import cascade_eval

    probs, shares = cascade_eval.out_of_fold(base)
    out = _metrics(probs, base)
    for ds, share in shares.items():
        out[ds]["share_e5"] = 100.0 * share
    return out


SPEED_RUNS = 3
SPEED_TEXTS = {"e5": 300, "cascade": 600}


def speed(name: str, n: int | None = None, runs: int = SPEED_RUNS) -> dict[str, float]:
    """Median texts/s over `runs` runs and peak memory of one scorer, in a fresh process pinned
    to one core (bot/analysis/speed.py)."""
    n = n or SPEED_TEXTS.get(name, 3000)
    cmd = [sys.executable, "-m", "bot.analysis.speed", name, str(n), str(runs)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True, timeout=900)
    return json.loads(res.stdout.strip().splitlines()[-1])


TRAINED = {"fast": "fast", "lexicon": "fast", "e5": "e5"}
# Comparison rows that are not scorers a user can pick: no speed of their own.
NOT_SCORERS = ("e5-frozen",)


def figures(name: str, base: Path | None) -> dict[str, dict[str, float]]:
    if name == "cascade":
        return cascade_oof(base)
    if name == "e5-frozen":
        return trained_oof("e5", base, e5="frozen")
    if name in TRAINED:
        return trained_oof(TRAINED[name], base)
    return untrained(name, base)


def run(scorers: Sequence[str], base: Path | None = None, with_speed: bool = True) -> str:
    t0 = time.time()
    results: dict[str, dict[str, dict[str, float]]] = {}
    speeds: dict[str, dict[str, float]] = {}
    for name in scorers:
        results[name] = figures(name, base)
        if with_speed and name not in NOT_SCORERS:
            speeds[name] = speed(name)
    return render(results, speeds, scorers) + f"\n(eval took {time.time() - t0:.0f} s)\n"


def run_speed(scorers: Sequence[str]) -> str:
    """Only the speed rows, every scorer measured in the same invocation (one after another)."""
    lines = []
    for name in scorers:
        if name in NOT_SCORERS:  # a comparison row, not a scorer one can time
            continue
        res = speed(name)
        extra = ""
        if "ms_per_token" in res:
            extra = f", {res['mean_tokens']:.1f} tokens/text, {res['ms_per_token']:.2f} ms/token"
        if "share_e5" in res:
            extra += f", {100 * res['share_e5']:.0f} % of texts to e5"
        lines.append(
            f"{name}: {res['texts_per_s']:,.1f} texts/s median of runs {res['runs']} "
            f"({res['texts']} texts, one core{extra}), peak RSS {res['peak_rss_mb']:.0f} MB"
        )
    return "\n".join(lines)


OOF = "out-of-fold on the report rows (complaints 10-fold, sentiment 5-fold CV)"
SPLITS = {
    "textblob": "report rows (no training)",
    "fast": OOF,
    "lexicon": OOF + " (the fast path's old name)",
    "e5": OOF,
    "e5-frozen": OOF + "; e5 without its LoRA adapters (what adapting gained; not a scorer, the"
    " same speed as e5)",
    "cascade": OOF + "; stage one's confidence threshold from the development split",
}


def render(
    results: dict[str, dict[str, dict[str, float]]],
    speeds: dict[str, dict[str, float]],
    scorers: Sequence[str],
) -> str:
    rows = [
        ("complaints", "complaint macro-F1", "complaints", "complaint_f1"),
        ("complaints", "ECE (p_complaint)", "complaints", "ece"),
        ("airline", "negative-vs-rest macro-F1", "airline", "neg_f1"),
        ("airline", "3-class macro-recall", "airline", "recall3"),
        ("airline", "ECE (3-class)", "airline", "ece"),
        ("tweeteval", "3-class macro-recall", "tweeteval", "recall3"),
        ("tweeteval", "negative-vs-rest macro-F1", "tweeteval", "neg_f1"),
        ("tweeteval", "ECE (3-class)", "tweeteval", "ece"),
        ("absa-nl", "negative-vs-rest macro-F1", "absa-nl", "neg_f1"),
        ("absa-nl", "3-class macro-recall", "absa-nl", "recall3"),
        ("absa-nl", "ECE (3-class)", "absa-nl", "ece"),
    ]
    head = "| data set | metric | " + " | ".join(scorers) + " |"
    lines = [head, "|---|---|" + "---|" * len(scorers)]
    for ds, metric, key_ds, key in rows:
        cells = [f"{results[s][key_ds][key]:.1f}" for s in scorers]
        lines.append(f"| {ds} | {metric} | " + " | ".join(cells) + " |")
    if "cascade" in scorers:
        shares = " / ".join(
            f"{results['cascade'][ds].get('share_e5', 0.0):.0f}"
            for ds in ("complaints", "airline", "tweeteval", "absa-nl")
        )
        lines.append(
            "| cascade | % of report rows sent to e5 (complaints / airline / TweetEval / Dutch) | "
            + " | ".join(shares if s == "cascade" else "" for s in scorers)
            + " |"
        )
    if speeds:
        lines.append(
            "| speed | texts/s, one core | "
            + " | ".join(
                f"{speeds[s]['texts_per_s']:,.0f}" if s in speeds else "–" for s in scorers
            )
            + " |"
        )
        lines.append(
            "| memory | peak RSS, MB | "
            + " | ".join(f"{speeds[s]['peak_rss_mb']:.0f}" if s in speeds else "–" for s in scorers)
            + " |"
        )
    lines.append("")
    lines.extend(f"- {s}: {SPLITS.get(s, 'all rows')}" for s in scorers)
    return "\n".join(lines)

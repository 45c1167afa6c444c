"""The cascade: stage one decides the confident texts, e5 the rest, and the verdict says which."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis import cascade
from bot.analysis.cascade import CascadeScorer
from tests.analysis.test_scorers import (
    NEWS_EN,
    NEWS_NL,
    POLITE_COMPLAINT_EN,
    POLITE_COMPLAINT_NL,
    PRAISE_EN,
    PRAISE_NL,
    QUESTION_EN,
    QUESTION_NL,
)

COLD = "Het eten was koud en de bediening traag"
TEXTS = [POLITE_COMPLAINT_EN, POLITE_COMPLAINT_NL, PRAISE_EN, PRAISE_NL, QUESTION_EN,
         QUESTION_NL, NEWS_EN, NEWS_NL, "ok", COLD]  # fmt: skip


def _probs(verdicts):
    return np.array([[v.p_negative, v.p_neutral, v.p_positive, v.p_complaint] for v in verdicts])


def test_share_zero_keeps_every_verdict_of_stage_one():
    verdicts = CascadeScorer(share=0.0).score_many(TEXTS)
    assert {v.scorer for v in verdicts} == {"cascade:use"}


def test_share_one_sends_everything_to_e5_and_agrees_with_the_e5_scorer(e5):
    verdicts = CascadeScorer(share=1.0).score_many(TEXTS)
    assert {v.scorer for v in verdicts} == {"cascade:e5"}
    np.testing.assert_allclose(_probs(verdicts), _probs(e5.score_many(TEXTS)), atol=1e-3)


def test_the_default_share_sends_only_the_least_confident_texts_to_e5():
    scorer = CascadeScorer(share=0.2)
    verdicts = scorer.score_many(TEXTS * 3)
    to_e5 = [v for v in verdicts if v.scorer == "cascade:e5"]
    assert 0 < len(to_e5) < len(verdicts)
    first = CascadeScorer(share=0.0).score_many(TEXTS * 3)
    conf = cascade.confidence(_probs(first)[:, :3], _probs(first)[:, 3])
    sent = np.array([v.scorer == "cascade:e5" for v in verdicts])
    # every text sent on was less sure at stage one than every text kept (rounding aside)
    assert conf[sent].max() <= conf[~sent].min() + 1e-3


@pytest.mark.parametrize("text", [POLITE_COMPLAINT_EN, POLITE_COMPLAINT_NL])
def test_the_cascade_flags_a_polite_complaint_in_both_languages(text):
    assert CascadeScorer().score(text).attention >= 0.5


def test_threshold_turns_a_share_into_a_confidence_cut():
    quantiles = np.linspace(0.0, 1.0, 101)
    assert cascade.threshold(quantiles, 0.0) < 0.0
    assert cascade.threshold(quantiles, 0.25) == pytest.approx(0.25)
    assert cascade.threshold(quantiles, 1.0) == float("inf")


@pytest.mark.parametrize("raw", ["-0.1", "1.5", "lots", "nan"])
def test_a_bad_cascade_share_setting_is_refused_with_its_name(monkeypatch, raw):
    monkeypatch.setenv("CASCADE_SHARE", raw)
    with pytest.raises(ValueError, match="CASCADE_SHARE"):
        cascade.share_from_env()


def _curve(**shares: tuple[float, float, float, float]) -> dict[float, dict[str, float]]:
    from bot.analysis.cascade_eval import PARITY  # the caller skips without the train extra

    return {
        1.0 if key == "e5" else float(key[1:].replace("_", ".")): dict(
            zip([ds for ds, _ in PARITY], figures, strict=True)
        )
        for key, figures in shares.items()
    }


def test_the_parity_share_is_the_smallest_that_reaches_e5_on_every_set():
    pytest.importorskip("sklearn", reason="cascade_eval is evaluation code (train extra)")
    from bot.analysis.cascade_eval import parity_share

    curve = _curve(
        e5=(85.6, 85.7, 62.6, 81.1),
        s0_2=(85.9, 85.9, 62.0, 81.5),  # under e5 on one set
        s0_4=(85.6, 85.74, 62.6, 81.2),  # level once rounded to the printed decimal
        s0_5=(86.0, 86.0, 63.0, 82.0),
    )
    assert parity_share(curve) == 0.4
    del curve[0.4], curve[0.5]
    assert parity_share(curve) is None


def test_the_cascade_combines_stage_two_only_on_the_rows_under_the_threshold():
    pytest.importorskip("sklearn", reason="cascade_eval is evaluation code (train extra)")
    from bot.analysis import heads
    from bot.analysis.cascade_eval import combine

    quantiles = heads.load(heads.FILES["use"]).extra[cascade.QUANTILES]
    cut = cascade.threshold(quantiles, 0.5)
    conf = {"complaints": np.array([cut - 0.01, cut + 0.01, np.nan, cut - 0.2])}
    first = {"complaints": np.array([0.1, 0.2, np.nan, 0.4])}
    second = {"complaints": np.array([0.9, 0.8, 0.7, 0.6])}
    probs, shares = combine(first, second, conf, cut)
    np.testing.assert_allclose(probs["complaints"][[0, 1, 3]], [0.9, 0.2, 0.6])
    assert shares["complaints"] == pytest.approx(2 / 3)  # of the three scored rows

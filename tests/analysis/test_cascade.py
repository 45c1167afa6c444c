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

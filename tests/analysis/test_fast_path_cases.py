"""Cases the fast path once got wrong: a negation that crossed a sentence end, and a short
English sentence read as Dutch because "was" is a Dutch word too."""

from __future__ import annotations

import pytest

from bot.analysis.base import get_scorer
from bot.analysis.features import guess_en_nl


@pytest.mark.parametrize(
    "text",
    [
        "My order never shipped. Terrible support, I want a refund.",
        "The support was terrible.",
        "Acme support was terrible.",
        "Not good, terrible.",
    ],
)
def test_a_plain_english_complaint_is_english_and_negative(text: str) -> None:
    verdict = get_scorer("lexicon").score(text)
    assert verdict.lang == "en"
    assert verdict.sentiment == "negative"
    assert verdict.attention >= 0.5


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The food was terrible", "en"),
        ("Het eten was koud", "nl"),
        ("Het eten was koud en de bediening traag, dat is jammer", "nl"),
        ("We waited an hour and the food was cold", "en"),
        ("De pizza was lekker", "nl"),
    ],
)
def test_the_fast_language_guess_weighs_english_and_dutch_function_words(
    text: str, lang: str
) -> None:
    assert guess_en_nl(text) == lang


def test_a_negation_still_flips_within_its_clause() -> None:
    assert get_scorer("lexicon").score("The food was not good").sentiment != "positive"

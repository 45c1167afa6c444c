"""The lexicon features read what the published lexicons say, in both languages."""

from __future__ import annotations

import pytest

from bot.analysis import features, lexicons

NAMES = lexicons.LEXICON_NAMES


def _vector(text: str) -> tuple[dict[str, float], str]:
    clean = features.normalise(text)
    values, language = lexicons.vector(clean, features.tokens(clean))
    assert len(values) == len(NAMES)
    return dict(zip(NAMES, values, strict=True)), language


def test_vader_reads_an_english_complaint_as_negative_and_praise_as_positive():
    bad, lang_bad = _vector("The support was terrible and rude, I am so angry")
    good, lang_good = _vector("Great support, they were friendly and fixed it fast")
    assert lang_bad == lang_good == "en"
    assert bad["vader_compound"] < -0.5 < 0.5 < good["vader_compound"]
    assert bad["en_negative_words"] > 0 and good["en_positive_words"] > 0


def test_the_dutch_lexicon_knows_attributive_forms_and_negation():
    praise, language = _vector("Heerlijke gerechten en een gezellige sfeer")
    assert language == "nl"
    assert praise["nl_polarity"] > 0.3 and praise["dutch_guess"] == 1.0
    negated, _ = _vector("Het eten was niet lekker")
    assert negated["nl_polarity"] < 0
    # A Dutch text is not read with the English lexicons (their features stay zero).
    assert negated["vader_compound"] == 0.0 and negated["en_polarity"] == 0.0


def test_emoji_ranks_say_which_way_an_emoji_leans():
    happy, _ = _vector("ok 😍😍")
    angry, _ = _vector("ok 😡")
    assert happy["emoji_sentiment"] > 0.3 > -0.1 > angry["emoji_sentiment"]
    assert happy["emoji_count"] > angry["emoji_count"] > 0


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Heerlijk gegeten, super vriendelijke bediening", "nl"),
        ("The food was terrible", "en"),
        ("Het eten was koud en de bediening traag", "nl"),
        ("😀 !!!", "und"),
    ],
)
def test_the_fast_language_guess_without_a_model(text, language):
    clean = features.normalise(text)
    assert lexicons.fast_language(clean, features.tokens(clean)) == language


def test_a_negation_does_not_cross_a_clause_end():
    en = lexicons.english_lexicon()
    flipped, _, _ = lexicons.polarity(features.tokens("it was not good"), en)
    kept, _, _ = lexicons.polarity(features.tokens("it was not late. good"), en)
    assert flipped < 0 < kept

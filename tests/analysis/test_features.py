from __future__ import annotations

from bot.analysis import features


def test_normalise_strips_html_leftovers_urls_and_handles():
    text = "<p>@AcmeHelp my order&nbsp;is <b>late</b> https://t.co/xyz</p>"
    assert features.normalise(text) == "@user my order is late http"


def test_normalise_caps_a_huge_text_before_any_regex_runs():
    assert len(features.normalise("a " * 1_000_000)) <= features.MAX_INPUT_CHARS


def test_cues_find_english_persistence_words_and_a_question():
    cue = features.cues(
        features.normalise("@acme my order still hasn't arrived after 5 days, any news?")
    )
    assert cue.question
    assert "still" in cue.matched and "5 days" in cue.matched


def test_cues_find_dutch_persistence_words():
    cue = features.cues("Mijn pakket is nog steeds niet aangekomen, alweer!")
    assert "nog steeds" in cue.matched and "alweer" in cue.matched


def test_question_without_mark_is_found_from_its_first_word():
    assert features.cues("@user how do I change my booking").question
    assert features.cues("Hoe kan ik mijn bestelling annuleren").question
    assert not features.cues("The flight was fine").question


def test_rule_vector_has_one_value_per_named_rule():
    assert features.cues("").vector.shape == (len(features.RULE_NAMES),)


def test_hashed_ngrams_are_stable_across_runs():
    # crc32 rather than hash(): Python salts str hashes per process, the weights would not match.
    assert features.hashed_ngrams("still waiting").tolist() == sorted(
        features.hashed_ngrams("still waiting").tolist()
    )
    assert len(features.hashed_ngrams("still waiting")) == 3


def test_en_nl_guess_of_the_fast_path():
    assert features.guess_en_nl("Het eten was niet lekker en de bediening traag") == "nl"
    assert features.guess_en_nl("The food was cold and the service slow") == "en"
    assert features.guess_en_nl("😀 !!!") == "und"

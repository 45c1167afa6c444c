"""Fixed examples in English and Dutch, and the promise never to raise on any input."""

from __future__ import annotations

import pytest

from bot.analysis import available_scorers, get_scorer
from bot.analysis.verdicts import DEFAULT_THRESHOLD
from bot.models import Sentiment

POLITE_COMPLAINT_EN = "Hi @AcmeHelp, my order still hasn't arrived after 6 days. Any news please?"
POLITE_COMPLAINT_NL = (
    "Hallo @AcmeHelp, mijn pakket is na 6 dagen nog steeds niet geleverd. Enig idee?"
)
PRAISE_EN = "Loved the new app from @Acme, delivery was super quick. Thank you!"
PRAISE_NL = "Heerlijk gegeten bij Acme, super vriendelijke bediening. Echt een aanrader!"
QUESTION_EN = "@AcmeHelp do you ship to Belgium?"
QUESTION_NL = "@AcmeHelp leveren jullie ook in België?"
NEWS_EN = "Acme opens new distribution centre in Rotterdam, creating 300 jobs"
NEWS_NL = "Acme opent nieuw distributiecentrum in Rotterdam met 300 banen"
MIXED = "Mijn order is still not delivered, echt belachelijk, worst service ever"
ODD_INPUTS = [
    "",
    " ",
    "😀😀😀",
    "😡",
    "<div class='x'><p>&lt;script&gt;</p></div>&amp;&nbsp;",
    "\x00\x01\x02",
    "\ud800 lone surrogate",
    "a" * 1_000_000,
    "word " * 50_000,
    "؟؟؟ مرحبا",
    "漢字かなカナ",
]


def test_registry_offers_baseline_fast_path_cascade_and_main_model():
    assert {"textblob", "lexicon", "fast", "cascade", "e5"} <= set(available_scorers())


@pytest.mark.parametrize("name", ["textblob", "lexicon", "fast", "cascade", "e5"])
def test_scorer_never_raises_and_fills_every_field(name):
    scorer = get_scorer(name)
    for verdict in scorer.score_many(ODD_INPUTS):
        assert 0.0 <= verdict.attention <= 1.0
        assert 0.0 <= verdict.p_negative <= 1.0
        assert -1.0 <= verdict.score <= 1.0
        assert verdict.scorer.split(":")[0] == name
        assert verdict.lang


@pytest.mark.parametrize("text", [POLITE_COMPLAINT_EN, POLITE_COMPLAINT_NL])
def test_e5_flags_a_polite_complaint_in_both_languages(e5, text):
    verdict = e5.score(text)
    assert verdict.p_complaint >= 0.5
    assert verdict.attention >= DEFAULT_THRESHOLD
    assert "complaint" in verdict.reason


@pytest.mark.parametrize(("text", "lang"), [(PRAISE_EN, "en"), (PRAISE_NL, "nl")])
def test_e5_reads_praise_as_positive_below_the_default_threshold(e5, text, lang):
    verdict = e5.score(text)
    assert verdict.lang == lang
    assert verdict.sentiment == Sentiment.POSITIVE and verdict.praise
    assert verdict.attention < DEFAULT_THRESHOLD


@pytest.mark.parametrize("text", [QUESTION_EN, QUESTION_NL])
def test_e5_alerts_a_question_even_when_it_is_not_negative(e5, text):
    verdict = e5.score(text)
    assert verdict.question
    assert verdict.attention >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(("text", "lang"), [(NEWS_EN, "en"), (NEWS_NL, "nl")])
def test_e5_leaves_a_neutral_news_headline_alone(e5, text, lang):
    verdict = e5.score(text)
    assert verdict.lang == lang
    assert verdict.attention < DEFAULT_THRESHOLD
    assert verdict.sentiment != Sentiment.NEGATIVE


def test_e5_flags_a_mixed_language_complaint(e5):
    verdict = e5.score(MIXED)
    assert verdict.sentiment == Sentiment.NEGATIVE
    assert verdict.attention >= DEFAULT_THRESHOLD


def test_e5_gives_empty_and_emoji_only_texts_an_unknown_language(e5):
    assert e5.score("").lang == "und"
    assert e5.score("😀😀😀").lang == "und"


def test_e5_strips_html_leftovers_before_scoring(e5):
    plain = e5.score("My refund still hasn't arrived")
    wrapped = e5.score("<p>My refund <b>still</b> hasn&#39;t arrived</p>")
    assert abs(plain.p_complaint - wrapped.p_complaint) < 0.05


def test_e5_truncates_a_very_long_text_instead_of_rejecting_it(e5):
    verdict = e5.score(POLITE_COMPLAINT_EN + " filler" * 200_000)
    assert verdict.p_complaint >= 0.5


def test_e5_score_many_keeps_the_order_of_a_batch_larger_than_one_chunk(e5):
    texts = [NEWS_EN, POLITE_COMPLAINT_EN] * 40
    verdicts = e5.score_many(texts)
    assert len(verdicts) == 80
    assert all(v.p_complaint >= 0.5 for v in verdicts[1::2])
    assert all(v.p_complaint < 0.5 for v in verdicts[0::2])


def test_e5_embeds_with_use_only_the_texts_its_english_head_reads(e5, monkeypatch):
    from bot.analysis import features, trained, use_embedding

    seen: list[str] = []

    def recording_use(texts):
        seen.extend(texts)
        return use_embedding.embed(texts)

    monkeypatch.setitem(trained.EMBEDDERS, "use", recording_use)
    texts = [POLITE_COMPLAINT_NL, POLITE_COMPLAINT_EN, PRAISE_NL, PRAISE_EN]
    together = e5.score_many(texts)
    assert seen == [features.normalise(POLITE_COMPLAINT_EN), features.normalise(PRAISE_EN)]
    assert [v.lang for v in together] == ["nl", "en", "nl", "en"]
    # A Dutch text's verdict does not depend on the English texts beside it, and vice versa.
    for text, verdict in zip(texts, together, strict=True):
        alone = e5.score(text)
        assert (alone.p_complaint, alone.p_negative) == pytest.approx(
            (verdict.p_complaint, verdict.p_negative), abs=1e-6
        )


@pytest.mark.parametrize("text", [POLITE_COMPLAINT_EN, POLITE_COMPLAINT_NL])
def test_fast_path_flags_polite_complaints(lexicon, text):
    assert lexicon.score(text).attention >= DEFAULT_THRESHOLD


def test_fast_path_reads_dutch_praise(lexicon):
    verdict = lexicon.score(PRAISE_NL)
    assert verdict.lang == "nl" and verdict.sentiment == Sentiment.POSITIVE


@pytest.mark.parametrize("text", [NEWS_EN, NEWS_NL])
def test_fast_path_leaves_a_neutral_news_headline_alone(lexicon, text):
    assert lexicon.score(text).attention < DEFAULT_THRESHOLD


def test_textblob_baseline_now_says_the_language():
    assert (
        get_scorer("textblob").score("Het eten was niet lekker en de bediening traag").lang == "nl"
    )

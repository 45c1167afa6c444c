"""Long texts are cut to the model's token budget before the engine sees them."""

from __future__ import annotations

import numpy as np

from bot.analysis import embedding


def _words(text: str) -> int:
    return len(text.split())


def test_short_texts_are_never_counted_or_cut():
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return 10_000

    text = "my order still hasn't arrived " * 9  # under SHORT_CHARS
    assert embedding.fit_tokens(text, counting) == text
    assert calls == []


def test_a_long_text_keeps_its_longest_prefix_within_the_budget_cut_at_a_space():
    text = " ".join(f"w{i}" for i in range(400))
    cut = embedding.fit_tokens(text, _words, limit=128)
    assert cut == " ".join(f"w{i}" for i in range(128))


def test_a_long_text_within_the_budget_is_left_whole():
    text = "word " * 100  # 500 characters, 100 "tokens"
    assert embedding.fit_tokens(text, _words, limit=128) == text


def test_the_engine_embeds_a_long_text_as_its_first_128_tokens():
    model = embedding._get_model()
    text = "The delivery was late again and nobody answers the phone. " * 40
    cut = embedding.fit_tokens(
        embedding.clean_for_model(text), lambda s: model.token_count(s, True)
    )
    assert 100 < model.token_count(cut, True) <= embedding.MAX_TOKENS
    long_vec, cut_vec = embedding.embed([text, cut])
    np.testing.assert_allclose(long_vec, cut_vec, atol=1e-6)

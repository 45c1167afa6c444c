"""`python -m bot.analysis.speed NAME N`: texts/s of one scorer on one core, and peak memory.

Run in its own process (evaluate.speed does) so the memory figure is that scorer's alone.
The texts are a fixed mix of English and Dutch rows of the shared data, or synthetic when absent.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main(argv: list[str]) -> int:
    name, n = argv[0], int(argv[1])
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from bot.analysis import data, get_scorer

    try:
        texts = data.load("airline").texts[: n // 2] + data.load("absa-nl").texts[: n - n // 2]
    except OSError:
        texts = [f"My order {i} still hasn't arrived, any news?" for i in range(n)]
    scorer = get_scorer(name)
    scorer.score_many(texts[:5])  # load the model before the clock starts
    start = time.perf_counter()
    scorer.score_many(texts)
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"scorer": name, "texts": len(texts), "texts_per_s": len(texts) / elapsed,
                      "peak_rss_mb": peak_kb / 1024}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

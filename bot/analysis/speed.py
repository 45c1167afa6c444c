"""`python -m bot.analysis.speed NAME N [RUNS]`: texts/s of one scorer on one core, and peak memory.

Run in its own process (evaluate.speed does) so the memory figure is that scorer's alone. The
process pins itself to one core and caps every thread pool (BLAS, OpenMP) at
one thread before anything numeric is imported, so the figure is a one-core figure whatever the
caller's environment. The same N texts are scored RUNS times; the median run is reported (the
machine is shared, so single runs wander by ±30 %).

The texts are a fixed mix of English and Dutch rows of the shared data (tweets and review
sentences: realistic mention lengths), or synthetic when the data is absent.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"


def speed_texts(n: int) -> list[str]:
    """The texts every speed figure is measured on: half airline, half Dutch shared rows."""
    from bot.analysis import data

    try:
        return data.load("airline").texts[: n // 2] + data.load("absa-nl").texts[: n - n // 2]
    except OSError:
        return [f"My order {i} still hasn't arrived, any news?" for i in range(n)]


def _mean_tokens(texts: list[str]) -> float | None:
    """Tokens the e5 engine runs per text (prefix and specials included), for ms/token."""
    from bot.analysis import embedding, features

    model = embedding._get_model()
    counts = [
        len(model.token_ids(embedding.clean_for_model(features.normalise(t))))  # type: ignore[attr-defined]
        for t in texts
    ]
    return sum(counts) / len(counts) if counts else None


def peak_rss_mb() -> float:
    """This process's peak resident set. Linux's VmHWM belongs to the process image since
    exec; getrusage's ru_maxrss is carried over from the parent at fork and exec, so under
    `eval` (which holds every embedding cache) it reported the parent's size, not ours."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin_one_core() -> None:
    """This process on its first allowed core only (ONNX Runtime then takes one thread)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def measure(name: str, n: int, runs: int) -> dict[str, object]:
    pin_one_core()
    from bot.analysis import get_scorer

    texts = speed_texts(n)
    scorer = get_scorer(name)
    scorer.score_many(texts[:5])  # load the models before the clock starts
    if name == "cascade":  # its second stage may not have been needed by those five
        from bot.analysis import embedding

        embedding.embed(["warm up"])
    rates = []
    verdicts = []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        verdicts = scorer.score_many(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    result: dict[str, object] = {
        "scorer": name,
        "texts": len(texts),
        "runs": [round(r, 1) for r in rates],
        "texts_per_s": statistics.median(rates),
        "peak_rss_mb": peak_rss_mb(),
    }
    if name == "cascade":
        result["share_e5"] = sum(v.scorer == "cascade:e5" for v in verdicts) / len(verdicts)
    if name == "e5":
        tokens = _mean_tokens(texts)
        result["mean_tokens"] = tokens
        if tokens:
            result["ms_per_token"] = 1000 / (statistics.median(rates) * tokens)
    return result


def main(argv: list[str]) -> int:
    name, n = argv[0], int(argv[1])
    runs = int(argv[2]) if len(argv) > 2 else 3
    print(json.dumps(measure(name, n, runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""`eval`'s speed rows: one scorer in a fresh process, its own memory."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bot.analysis import evaluate


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_peak_memory_is_the_scorers_own_not_the_parents():
    # eval holds every embedding cache (hundreds of MB) when it starts the speed process;
    # getrusage's ru_maxrss would report that inherited size as the scorer's.
    held = np.ones(400 * 2**20 // 8)  # 400 MB, touched
    res = evaluate.speed("fast", n=200, runs=1)
    assert held.sum() > 0
    assert 50 < res["peak_rss_mb"] < 400
    assert res["texts_per_s"] > 0 and res["texts"] == 200


def test_speed_only_skips_the_comparison_rows_that_are_not_scorers(monkeypatch):
    # `eval --speed-only` with the default list (which includes e5-frozen) used to crash.
    monkeypatch.setattr(evaluate, "SPEED_TEXTS", {"fast": 100})
    out = evaluate.run_speed(["fast", "e5-frozen"])
    assert out.startswith("fast: ") and "e5-frozen" not in out

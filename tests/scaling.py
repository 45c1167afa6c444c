"""How a function's cost grows with its input: the check behind the linear-time property
tests. Not a timed test: it compares the CPU time of one input with that of the same input
made eight times longer, in the same process a moment apart, so the machine's speed and load
cancel out. Linear work costs about 8x; quadratic about 64x; the bound sits between.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

GROWTH = 8
BOUND = 20.0  # 8x is linear; anything quadratic is far beyond this
MIN_SECONDS = 0.004  # below this a measurement is mostly noise: repeat the call


def cpu_seconds(function: Callable[[Any], object], argument: Any, repeats: int = 3) -> float:
    """The least CPU time of one call over `repeats` measurements, each long enough to read."""
    calls = 1
    while True:
        started = time.process_time()
        for _ in range(calls):
            function(argument)
        spent = time.process_time() - started
        if spent >= MIN_SECONDS or calls >= 1 << 16:
            break
        calls *= 4
    best = spent / calls
    for _ in range(repeats - 1):
        started = time.process_time()
        for _ in range(calls):
            function(argument)
        best = min(best, (time.process_time() - started) / calls)
    return best


def growth(function: Callable[[Any], object], make: Callable[[int], Any], size: int) -> float:
    """How many times more an input GROWTH times longer costs."""
    small, large = make(size), make(size * GROWTH)
    cpu_seconds(function, small, repeats=1)  # warm caches and lazy compiles
    return cpu_seconds(function, large) / max(cpu_seconds(function, small), 1e-9)


def assert_linear(
    function: Callable[[Any], object], make: Callable[[int], Any], size: int, what: str = ""
) -> None:
    ratio = growth(function, make, size)
    if ratio > BOUND:  # once more: a burst of load on a shared machine is not the function
        ratio = min(ratio, growth(function, make, size))
    assert ratio <= BOUND, f"{what or function.__name__}: {GROWTH}x the input cost {ratio:.0f}x"

"""Feed parsing throughput: entries per second over the real samples in ../shared/feeds.

Measures, in the same run, plain `feedparser.parse`, feedparser with the flags the project's
own fallback uses (sanitize_html and resolve_relative_uris off: the fairest baseline, so the
fast path's own gain shows), the project's `parse_feed` (fast path with feedparser fallback,
mapping to RawEntry included) and the project's path with the fast path switched off. The
samples are repeated to a fixed number of entries (the slow parsers get a smaller total so
the whole run stays near a minute); in each run the four take turns slice by slice, and each
figure is the median over the runs, the ratio the median of the runs' ratios.
Peak memory (max RSS) is printed at the end.

    python bench/parse.py [--entries 20000] [--slow-entries 800] [--runs 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from bot.sources import fastparse  # noqa: E402
from bot.sources.base import SourceError  # noqa: E402
from bot.sources.feeds import parse_feed  # noqa: E402

FEEDS = ROOT.parent / "shared" / "feeds"
FOLDERS = ("google-alerts", "youtube", "generated", "feedjira-misc")
TURNS = 20  # slices per run in which the parsers take turns


def load_samples() -> list[tuple[bytes, int]]:
    """(body, entries) of every RSS/Atom sample that feedparser reads entries from."""
    samples = []
    for folder in FOLDERS:
        for path in sorted((FEEDS / folder).iterdir()):
            if path.name == "LICENSE" or path.suffix == ".json":
                continue  # JSON Feed is not feedparser's job: no baseline to compare with
            body = path.read_bytes()
            count = len(feedparser.parse(body).entries)
            if count:
                samples.append((body, count))
    return samples


def deck(samples: list[tuple[bytes, int]], total: int) -> tuple[list[bytes], int]:
    """The samples repeated in order until they hold at least `total` entries."""
    bodies, entries = [], 0
    while entries < total:
        for body, count in samples:
            bodies.append(body)
            entries += count
            if entries >= total:
                break
    return bodies, entries


def one_run(contenders: list[tuple[Callable[[bytes], int], list[bytes]]]) -> list[float]:
    """Entries per second of each (parse, bodies), taking turns slice by slice: on a machine
    whose load changes from second to second, each parser then meets the same load."""
    seconds = [0.0] * len(contenders)
    entries = [0] * len(contenders)
    for turn in range(TURNS):
        for index, (parse, bodies) in enumerate(contenders):
            piece = bodies[turn * len(bodies) // TURNS : (turn + 1) * len(bodies) // TURNS]
            started = time.perf_counter()
            entries[index] += sum(parse(body) for body in piece)
            seconds[index] += time.perf_counter() - started
    return [count / spent for count, spent in zip(entries, seconds, strict=True)]


def plain_feedparser(body: bytes) -> int:
    return len(feedparser.parse(body).entries)


def feedparser_as_the_fallback(body: bytes) -> int:
    """feedparser as parse_feed's fallback calls it: no sanitising, no URI resolution."""
    return len(feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False).entries)


def project(body: bytes) -> int:
    try:
        return len(parse_feed("bench", body))
    except SourceError:
        return 0


def project_without_fast_path(body: bytes) -> int:
    fastparse.ENABLED = False
    try:
        return project(body)
    finally:
        fastparse.ENABLED = True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000, help="entries per run, fast path")
    parser.add_argument("--slow-entries", type=int, default=800, help="entries per run, others")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not FEEDS.is_dir():
        print(f"skipped: {FEEDS} is absent (the shared samples sit beside the project root)")
        return 0

    samples = load_samples()
    fast_bodies, fast_total = deck(samples, args.entries)
    slow_bodies, slow_total = deck(samples, args.slow_entries)
    declined = sum(1 for body, _ in samples if not _fast_ok(body))
    print(
        f"samples: {len(samples)} RSS/Atom files, {sum(c for _, c in samples)} entries "
        f"(fast path declines {declined} of them and falls back to feedparser)"
    )
    print(f"runs: median of {args.runs}; {fast_total:,} entries per run for the project path, "
          f"{slow_total:,} for the feedparser ones")  # fmt: skip

    contenders = [
        (plain_feedparser, slow_bodies),
        (feedparser_as_the_fallback, slow_bodies),
        (project_without_fast_path, slow_bodies),
        (project, fast_bodies),
    ]
    runs = [one_run(contenders) for _ in range(args.runs)]
    baseline, flagged, without, with_fast = (
        statistics.median(column) for column in zip(*runs, strict=True)
    )
    rows = [
        ("feedparser.parse (baseline)", baseline),
        ("feedparser, fallback's flags", flagged),
        ("parse_feed, fast path off", without),
        ("parse_feed (project path)", with_fast),
    ]
    for name, value in rows:
        print(f"  {name:<30} {value:>10,.0f} entries/s  {value / baseline:>6.1f}x feedparser"
              f"  {value / flagged:>6.1f}x with its flags")  # fmt: skip
    for label, column in (("plain feedparser", 0), ("feedparser with the fallback's flags", 1)):
        ratios = sorted(run[3] / run[column] for run in runs)
        print(
            f"project path / {label}: {statistics.median(ratios):.1f}x, median of the "
            f"{args.runs} runs' ratios (lowest {ratios[0]:.1f}x, highest {ratios[-1]:.1f}x)"
        )
    print("(issue 5 target: >= 20x plain feedparser)")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak memory (max RSS): {peak_kib / 1024:.0f} MB")
    return 0


def _fast_ok(body: bytes) -> bool:
    try:
        return bool(fastparse.parse_fast("bench", body))
    except Exception:
        return False


if __name__ == "__main__":
    raise SystemExit(main())

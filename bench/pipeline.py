"""Pipeline throughput: parsed entries → matched, deduplicated, scored, stored, alerts queued.

Prints mentions per second (median of several runs) for each scorer (the default one, e5,
over fewer entries: it scores about 20 a second) on SQLite and, where it runs, PostgreSQL,
next to the floor measured in the same run: the store's inserts alone, batched as the
pipeline batches them (one transaction per 100).
Texts are real customer posts from ../shared/data (airline tweets, Dutch reviews); the
benchmark says so and exits if that folder is absent.

    python bench/pipeline.py [--entries 5000] [--slow-entries 200] [--runs 3]
                             [--scorers textblob,lexicon,e5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.analysis import available_scorers, get_scorer  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.matching import TermSet  # noqa: E402
from bot.models import RawEntry, Route  # noqa: E402
from bot.pipeline import BrandRule, Pipeline, mention_of  # noqa: E402
from bot.store import Store, open_store  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 100  # entries per pipeline call, about one feed page


def load_texts(limit: int) -> list[str]:
    texts: list[str] = []
    for name in ("airline-sentiment/train.jsonl", "absa-nl-restaurants/train.jsonl"):
        with (SHARED / name).open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle]
    texts = [t for t in texts if t.strip()]
    return [f"Acme: {texts[i % len(texts)]}" for i in range(limit)]


def entries(texts: list[str], run: int) -> list[RawEntry]:
    now = datetime.now(UTC)
    return [
        RawEntry(
            source="bench",
            external_id=f"{run}-{i}",
            url=f"https://example.com/{run}/{i}",
            title="",
            text=text + f" #{run}-{i}",  # distinct text: every entry is a new mention
            author=f"user{i % 97}",
            published_at=now,
        )
        for i, text in enumerate(texts)
    ]


def run_pipeline(store: Store, scorer_name: str, items: list[RawEntry]) -> float:
    rule = BrandRule(
        "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.3
    )
    pipeline = Pipeline(store, get_scorer(scorer_name), lambda: datetime.now(UTC))
    start = time.perf_counter()
    for i in range(0, len(items), BATCH):
        pipeline.process(rule, items[i : i + BATCH])
    return len(items) / (time.perf_counter() - start)


def run_inserts_only(store: Store, items: list[RawEntry]) -> float:
    """The floor: the same rows written with no matching, dedup lookup or scoring, in the
    pipeline's batches (one transaction per BATCH entries)."""
    from bot.models import Sentiment, Verdict

    verdict = Verdict(sentiment=Sentiment.NEUTRAL, score=0.0, p_negative=0.0, attention=0.0)
    rule = BrandRule(
        "Acme", TermSet.parse(["acme"]), (Route("slack", "#alerts"),), alert_threshold=0.3
    )
    now = datetime.now(UTC)
    start = time.perf_counter()
    for i in range(0, len(items), BATCH):
        batch = items[i : i + BATCH]
        store.add_mentions([(mention_of(rule, e, "acme", verdict, now), False) for e in batch])
    return len(items) / (time.perf_counter() - start)


def backends() -> list[tuple[str, Callable[[], tuple[Store, Callable[[], None]]]]]:
    def sqlite() -> tuple[Store, Callable[[], None]]:
        tmp = tempfile.TemporaryDirectory()
        store = open_store(f"sqlite:///{tmp.name}/bench.db")
        return store, lambda: (store.close(), tmp.cleanup())  # type: ignore[func-returns-value]

    found = [("sqlite", sqlite)]
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=2):
            pass
    except Exception as exc:
        print(f"(PostgreSQL skipped: not reachable on 127.0.0.1:5432: {type(exc).__name__})")
        return found

    def postgres() -> tuple[Store, Callable[[], None]]:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        store = open_store(f"{PG_URL}?options=-csearch_path%3D{schema}")

        def drop() -> None:
            store.close()
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

        return store, drop

    found.append(("postgres", postgres))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--slow-entries", type=int, default=200, help="entries per run, e5")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scorers", default="")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"skipped: {SHARED} is absent (the shared sample data sits beside the project)")
        return 0
    texts = load_texts(args.entries)
    default = Settings().scorer
    wanted = [s for s in args.scorers.split(",") if s] or [
        s for s in dict.fromkeys(("textblob", "lexicon", default)) if s in available_scorers()
    ]
    print(f"pipeline benchmark: {args.entries} entries per run ({args.slow_entries} for e5), "
          f"median of {args.runs} runs; the default scorer is {default}")  # fmt: skip
    print(f"{'backend':<10} {'path':<28} {'mentions/s':>12} {'vs inserts only':>16}")
    for backend_name, make in backends():
        floor_runs = []
        for run in range(args.runs):
            store, done = make()
            floor_runs.append(run_inserts_only(store, entries(texts, run)))
            done()
        floor = statistics.median(floor_runs)
        print(f"{backend_name:<10} {'inserts only (baseline)':<28} {floor:>12,.0f} {'1.00×':>16}")
        for scorer in wanted:
            runs = []
            count = args.slow_entries if scorer == "e5" else args.entries
            for run in range(args.runs):
                store, done = make()
                runs.append(run_pipeline(store, scorer, entries(texts[:count], run)))
                done()
            rate = statistics.median(runs)
            label = f"pipeline, {scorer} scorer" + (" (default)" if scorer == default else "")
            print(f"{backend_name:<10} {label:<28} {rate:>12,.0f} {rate / floor:>15.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

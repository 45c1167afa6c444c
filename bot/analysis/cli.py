"""Analysis commands: `score`, `train`, `eval`. Wired into `mentionbot` by bot/cli.py, and
runnable alone as `python -m bot.analysis.cli ...` (no settings, database or chat code)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_SCORER = "e5"


def default_scorer() -> str:
    return os.environ.get("SCORER") or DEFAULT_SCORER


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    score = subparsers.add_parser("score", help="score a text, or a JSONL file of {id, text}")
    score.add_argument("text", nargs="?", help="the text to score")
    score.add_argument("--jsonl", type=Path, help='input file of {"id", "text"} lines ("-": stdin)')
    score.add_argument(
        "--scorer", default=None, help=f"scorer name (default: $SCORER or {DEFAULT_SCORER})"
    )
    score.set_defaults(func=cmd_score)

    train = subparsers.add_parser("train", help="refit the shipped heads from ../shared/data")
    train.add_argument(
        "--kind", default="all", choices=["all", "fast", "use", "e5"],
        help="which weights file (default: all three)",
    )  # fmt: skip
    train.add_argument("--with-labels", type=Path, help="also train on a brand's labels (JSONL)")
    train.add_argument("--out", type=Path, help="write the weights into this folder instead")
    train.add_argument("--data", type=Path, help="the shared data folder (default ../shared/data)")
    train.set_defaults(func=cmd_train)

    ev = subparsers.add_parser("eval", help="evaluate every scorer on ../shared/data")
    ev.add_argument("--scorers", default="textblob,fast,cascade,e5,e5-frozen")
    ev.add_argument("--data", type=Path, help="the shared data folder (default ../shared/data)")
    ev.add_argument("--no-speed", action="store_true", help="skip the speed/memory runs")
    ev.add_argument("--speed-only", action="store_true", help="only the speed/memory runs")
    ev.set_defaults(func=cmd_eval)


def verdict_json(verdict: Any, row_id: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {} if row_id is None else {"id": row_id}
    for key, value in dataclasses.asdict(verdict).items():
        out[key] = str(value) if key == "sentiment" else value
    return out


def _rows(path: Path) -> Iterator[tuple[Any, str]]:
    fh = sys.stdin if str(path) == "-" else path.open(encoding="utf-8", errors="replace")
    try:
        for n, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = {"id": n, "text": line}  # keep going: one bad line must not lose the rest
            if not isinstance(row, dict):
                row = {"id": n, "text": str(row)}
            text = row.get("text")
            yield (
                row.get("id", n),
                text if isinstance(text, str) else ("" if text is None else str(text)),
            )
    finally:
        if fh is not sys.stdin:
            fh.close()


def cmd_score(args: argparse.Namespace) -> int:
    from bot.analysis import get_scorer

    try:
        scorer = get_scorer(args.scorer or default_scorer())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.jsonl is None:
        if args.text is None:
            print("give a text or --jsonl FILE", file=sys.stderr)
            return 2
        print(json.dumps(verdict_json(scorer.score(args.text)), ensure_ascii=False, indent=2))
        return 0
    batch: list[tuple[Any, str]] = []
    out = sys.stdout
    # Batches of 256 keep memory flat on a large file and still let the engine batch.
    for row in _rows(args.jsonl):
        batch.append(row)
        if len(batch) >= 256:
            _emit(scorer, batch, out)
            batch = []
    _emit(scorer, batch, out)
    return 0


def _emit(scorer: Any, batch: list[tuple[Any, str]], out: Any) -> None:
    if not batch:
        return
    verdicts = scorer.score_many([t for _, t in batch])
    for (row_id, _), v in zip(batch, verdicts, strict=True):
        out.write(json.dumps(verdict_json(v, row_id), ensure_ascii=False) + "\n")
    out.flush()


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from bot.analysis import training
    except ImportError as exc:
        print(f"training needs the train extra (pip install -e '.[train]'): {exc}", file=sys.stderr)
        return 2
    from bot.analysis import heads

    # The cascade's first stage reads the fast path's blocks, and e5's heads read USE: one
    # order for all, and each file depends only on the data.
    kinds = ["fast", "use", "e5"] if args.kind == "all" else [args.kind]
    for kind in kinds:
        target = args.out / heads.FILES[kind].name if args.out else heads.FILES[kind]
        out = training.train(kind, out=target, labels_file=args.with_labels, base=args.data)
        print(f"wrote {out}", flush=True)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.analysis import data, evaluate

    base = args.data or data.data_dir()
    if not base.exists():
        print(f"no shared data at {base}: nothing to evaluate", file=sys.stderr)
        return 2
    scorers = [s.strip() for s in args.scorers.split(",") if s.strip()]
    if args.speed_only:
        print(evaluate.run_speed(scorers))
        return 0
    print(evaluate.run(scorers, base, with_speed=not args.no_speed))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.analysis.cli")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

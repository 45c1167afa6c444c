"""Reading the labelled sets in ../shared/data (train and eval only; never shipped or copied)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

SENTIMENT_LABELS = ("negative", "neutral", "positive")

# name -> (file under the data folder, kind)
DATASETS: dict[str, tuple[str, str]] = {
    "complaints": ("complaints/train.jsonl", "complaint"),
    "airline": ("airline-sentiment/train.jsonl", "sentiment"),
    "tweeteval": ("tweeteval-sentiment/dev.jsonl", "sentiment"),
    "absa-nl": ("absa-nl-restaurants/train.jsonl", "sentiment"),
}


def data_dir() -> Path:
    """The shared data folder: $MENTIONBOT_DATA, else ../shared/data from the project root."""
    env = os.environ.get("MENTIONBOT_DATA")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "data"


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    kind: str  # "sentiment" or "complaint"
    ids: list[str]
    texts: list[str]
    labels: list[str]
    groups: list[str]  # rows that must stay in one fold (the review of a Dutch sentence)


def load(name: str, base: Path | None = None) -> Dataset:
    rel, kind = DATASETS[name]
    path = (base or data_dir()) / rel
    ids: list[str] = []
    texts: list[str] = []
    labels: list[str] = []
    groups: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            ids.append(str(row["id"]))
            texts.append(str(row["text"]))
            labels.append(str(row["label"]))
            groups.append(str(row.get("review") or row["id"]))
    return Dataset(name, kind, ids, texts, labels, groups)


def load_labels_file(path: Path) -> tuple[list[Dataset], list[str]]:
    """A brand's own corrections (JSONL, the shared format), split by kind of label."""
    rows: dict[str, list[dict[str, str]]] = {"sentiment": [], "complaint": []}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                label = str(row.get("label", ""))
                if label in SENTIMENT_LABELS:
                    rows["sentiment"].append(row)
                elif label in {"complaint", "not_complaint"}:
                    rows["complaint"].append(row)
    out = []
    skipped: list[str] = []
    for kind, items in rows.items():
        if items:
            out.append(
                Dataset(
                    f"labels-{kind}",
                    kind,
                    [str(r.get("id", i)) for i, r in enumerate(items)],
                    [str(r["text"]) for r in items],
                    [str(r["label"]) for r in items],
                    [str(r.get("id", i)) for i, r in enumerate(items)],
                )
            )
    return out, skipped

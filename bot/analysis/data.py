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


def load_labels_file(path: Path) -> list[Dataset]:
    """A brand's own corrections (JSONL, the shared format), one Dataset per kind of label."""
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
    return [_dataset(f"labels-{kind}", kind, items) for kind, items in rows.items() if items]


def _dataset(name: str, kind: str, items: list[dict[str, str]]) -> Dataset:
    ids = [str(r.get("id", i)) for i, r in enumerate(items)]
    return Dataset(name, kind, ids, [str(r["text"]) for r in items],
                   [str(r["label"]) for r in items], ids)  # fmt: skip


def split_labels(path: Path) -> tuple[list[Dataset], list[Dataset], list[Dataset]]:
    """A brand's labels as (English sentiment, Dutch sentiment, complaint) sets: sentiment
    labels go to the head of their language."""
    from bot.analysis.features import normalise
    from bot.analysis.lang import detect

    en: list[Dataset] = []
    nl: list[Dataset] = []
    comp: list[Dataset] = []
    for d in load_labels_file(path):
        if d.kind == "complaint":
            comp.append(d)
            continue
        is_nl = [detect(normalise(t))[0] == "nl" for t in d.texts]
        for flag, target in ((False, en), (True, nl)):
            idx = [i for i, f in enumerate(is_nl) if f == flag]
            if idx:
                target.append(Dataset(
                    f"{d.name}-{'nl' if flag else 'en'}", d.kind, [d.ids[i] for i in idx],
                    [d.texts[i] for i in idx], [d.labels[i] for i in idx],
                    [d.groups[i] for i in idx],
                ))  # fmt: skip
    return en, nl, comp

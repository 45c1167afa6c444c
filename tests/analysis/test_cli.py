"""`score --jsonl` is what independent evaluations run: its shape and order are a contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"id", "lang", "sentiment", "p_negative", "p_complaint", "question", "attention"}
ROWS = [
    {"id": "a1", "text": "My order still hasn't arrived, any news?"},
    {"id": 2, "text": ""},
    {"id": "nl-3", "text": "Heerlijk gegeten, super vriendelijke bediening"},
    {"id": 4, "text": "<p>Acme &amp; partners announce results</p>"},
    {"id": 5, "text": "😀😀"},
]


def _run(module: str, tmp_path: Path, *extra: str) -> list[dict]:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", module, "score", "--jsonl", str(src), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in res.stdout.splitlines()]


@pytest.mark.parametrize("scorer", ["e5", "lexicon"])
def test_score_jsonl_writes_one_line_per_input_in_order_with_the_documented_fields(
    tmp_path, scorer
):
    out = _run("bot.analysis.cli", tmp_path, "--scorer", scorer)
    assert [o["id"] for o in out] == [r["id"] for r in ROWS]
    for o in out:
        assert set(o) >= REQUIRED
        assert o["sentiment"] in {"negative", "neutral", "positive"}
        assert isinstance(o["question"], bool)
        assert 0.0 <= o["attention"] <= 1.0
        assert o["scorer"] == scorer
    assert out[0]["question"] is True
    assert out[2]["lang"] == "nl"


def test_score_jsonl_loads_no_database_or_chat_code(tmp_path):
    probe = (
        "import sys, runpy; sys.argv=['x','score','--jsonl',sys.argv[1]];"
        "\ntry:\n    runpy.run_module('bot.analysis.cli', run_name='__main__')"
        "\nexcept SystemExit: pass"
        "\nheavy=('bot.store','bot.chat','slack_bolt','psycopg')"
        "\nbad=[m for m in sys.modules if m.startswith(heavy)]"
        "\nprint('LOADED', bad)"
    )
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-c", probe, str(src)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    assert res.stdout.strip().endswith("LOADED []")


def test_score_jsonl_through_the_main_cli_when_it_is_wired(tmp_path):
    out = _run("bot", tmp_path, "--scorer", "lexicon")
    assert [o["id"] for o in out] == [r["id"] for r in ROWS]
    assert all(set(o) >= REQUIRED for o in out)


def test_score_jsonl_survives_a_malformed_line(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "ok"}\nnot json\n{"id": 3, "text": null}\n', encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "bot.analysis.cli", "score", "--jsonl", str(src), "--scorer", "lexicon"],  # noqa: E501
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert len(res.stdout.splitlines()) == 3

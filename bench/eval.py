"""Print the evaluation table of every scorer (same as `mentionbot eval`).

.venv/bin/python bench/eval.py [--scorers textblob,lexicon,e5] [--no-speed]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.analysis.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["eval", *sys.argv[1:]]))
